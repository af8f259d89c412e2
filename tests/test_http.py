"""Tests for L{kmipd.http}: KMIP over HTTPS with TTLV, XML and JSON bodies."""

from __future__ import annotations

import http.client
import os
import ssl
import tempfile
import time
from io import BytesIO
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import EventLoggingObserver, MemoryReactorClock, StringTransport
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from kmipd.config import load_config
from kmipd.dispatch import Caller
from kmipd.http import KMIPRequest, KMIPResource, KMIPSite, build_site
from kmipd.limits import Limits
from kmipd.protocol import KMIPServerFactory
from kmipd.service import KMIPService
from kmipd.spec import (
    CryptographicAlgorithm,
    CryptographicUsageMask,
    ObjectType,
    Operation,
    ResultReason,
    ResultStatus,
    Tag,
    tag_name,
)
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import attribute, batch_item, make_dispatcher, payload, request, results, run_now
from kmipd.tls import IdentityError
from kmipd.ttlv import Item, decode, encode
from kmipd.ttlv.json import from_json, to_json
from kmipd.ttlv.xml import from_xml, to_xml

OCTET, XML, JSON = b"application/octet-stream", b"text/xml", b"application/json"

def _create_get(version: tuple[int, int], length: int) -> Item:
    """A Create (AES key of C{length} bits, usable for Encrypt/Decrypt) + Get batch in C{version}'s shape."""
    usage = CryptographicUsageMask.ENCRYPT | CryptographicUsageMask.DECRYPT
    values = [Item.enum(Tag.CRYPTOGRAPHIC_ALGORITHM, CryptographicAlgorithm.AES),
              Item.int(Tag.CRYPTOGRAPHIC_LENGTH, length),
              Item.int(Tag.CRYPTOGRAPHIC_USAGE_MASK, usage)]
    if version >= (2, 0):
        template = Item.struct(Tag.ATTRIBUTES, values)
    else:
        template = Item.struct(Tag.TEMPLATE_ATTRIBUTE, [attribute(tag_name(v.tag), v) for v in values])
    return request(batch_item(Operation.CREATE, payload(Item.enum(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY),
                                                        template)),
                   batch_item(Operation.GET, payload()), version=version)


CREATE_GET_XML = b'<?xml version="1.0" encoding="UTF-8"?>\n' + to_xml(_create_get((1, 4), 128)).encode()
CREATE_GET_JSON = to_json(_create_get((2, 0), 256)).encode()


def _request(operation: int, body: Item | None = None, version: tuple[int, int] = (1, 4)) -> Item:
    return request(batch_item(operation, body), version=version)


QUERY = _request(Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, 1), Item.enum(Tag.QUERY_FUNCTION, 2)))
DISCOVER = _request(Operation.DISCOVER_VERSIONS)


class CertTransport(StringTransport):
    """A StringTransport that reports a (fake) TLS client certificate."""

    def __init__(self, certificate: Any) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "192.0.2.7", 40000))
        self.certificate = certificate

    def getPeerCertificate(self) -> Any:
        return self.certificate


class Response:
    """One parsed HTTP response."""

    def __init__(self, raw: bytes) -> None:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ")[1])
        self.headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.strip().lower()] = value.strip()
        length = int(self.headers.get(b"content-length", b"-1"))
        self.body = rest[:length] if length >= 0 else rest
        self.rest = rest[length:] if length >= 0 else b""

    @property
    def content_type(self) -> bytes | None:
        return self.headers.get(b"content-type")


def http_request(body: bytes, content_type: bytes | None = OCTET, *, method: bytes = b"POST",
                 path: bytes = b"/kmip", version: bytes = b"HTTP/1.1", extra: bytes = b"") -> bytes:
    headers = b"Host: kmip.test\r\nCache-Control: no-cache\r\n"
    if content_type is not None:
        headers += b"Content-Type: " + content_type + b"\r\n"
    headers += b"Content-Length: %d\r\n" % len(body)
    return b"%s %s %s\r\n%s%s\r\n%s" % (method, path, version, headers, extra, body)


def identify_cn(certificate: Any) -> Deferred:
    """A fake identity function: the "certificate" is the caller name; none is refused."""
    if certificate is None:
        return fail(IdentityError("the client presented no certificate"))
    return succeed(Caller(certificate))


class SiteMixin:
    """A L{KMIPSite} on an in-memory dispatcher, driven over StringTransports."""

    limits = Limits()
    reidentify_after: float | None = None

    def setUp(self) -> None:
        self.dispatcher = make_dispatcher(limits=self.limits)
        self.identified: list[Any] = []
        self.identify_with = identify_cn

        def identify(cert: Any) -> Deferred:
            self.identified.append(cert)
            return self.identify_with(cert)

        self.reactor = MemoryReactorClock()
        self.site = build_site(self.dispatcher, identify, limits=self.limits, reactor=self.reactor,
                               reidentify_after=self.reidentify_after)

    def connect(self, certificate: Any = "alice") -> tuple[Any, CertTransport]:
        proto = self.site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        transport = CertTransport(certificate)
        proto.makeConnection(transport)
        return proto, transport

    def post(self, body: bytes, content_type: bytes | None = OCTET, certificate: Any = "alice",
             **kwargs: Any) -> Response:
        proto, transport = self.connect(certificate)
        proto.dataReceived(http_request(body, content_type, **kwargs))
        return Response(transport.value())

    def kmip(self, response: Response, codec: bytes) -> Item:
        """The KMIP response message of a 200 response in encoding C{codec}."""
        self.assertEqual(response.status, 200, response.body)  # type: ignore[attr-defined]
        self.assertEqual(response.content_type, codec)  # type: ignore[attr-defined]
        self.assertEqual(response.headers[b"cache-control"], b"no-cache")  # type: ignore[attr-defined]
        if codec == OCTET:
            return decode(response.body)
        if codec == XML:
            return from_xml(response.body)
        return from_json(response.body)


class RoundTripTests(SiteMixin, SynchronousTestCase):
    """Each of the three encodings reaches the dispatcher and comes back in the same encoding."""

    def test_ttlv_query(self) -> None:
        """A binary TTLV Query is answered 200 with a binary response, Content-Length and no-cache."""
        response = self.post(encode(QUERY))
        message = self.kmip(response, OCTET)
        self.assertEqual(int(response.headers[b"content-length"]), len(response.body))
        (result,) = results(message)
        self.assertEqual((result.operation, result.status), (Operation.QUERY, ResultStatus.SUCCESS))
        self.assertIn(Operation.CREATE, [i.value for i in result.payload.findall(Tag.OPERATION)])

    def test_xml_query_matches_ttlv(self) -> None:
        """An XML Query is answered in XML with exactly the items of the binary answer."""
        binary = self.kmip(self.post(encode(QUERY)), OCTET)
        xml = self.kmip(self.post(to_xml(QUERY).encode(), XML), XML)
        self.assertEqual(xml, binary)

    def test_json_query_matches_ttlv(self) -> None:
        """A JSON Query is answered in JSON with exactly the items of the binary answer."""
        binary = self.kmip(self.post(encode(QUERY)), OCTET)
        json = self.kmip(self.post(to_json(QUERY).encode(), JSON), JSON)
        self.assertEqual(json, binary)

    def test_discover_versions_each_encoding(self) -> None:
        """DiscoverVersions lists the same versions, newest first, in all three encodings."""
        answers = []
        for codec, body in ((OCTET, encode(DISCOVER)), (XML, to_xml(DISCOVER).encode()),
                            (JSON, to_json(DISCOVER).encode())):
            (result,) = results(self.kmip(self.post(body, codec), codec))
            self.assertEqual(result.status, ResultStatus.SUCCESS)
            answers.append([(v.get(Tag.PROTOCOL_VERSION_MAJOR), v.get(Tag.PROTOCOL_VERSION_MINOR))
                            for v in result.payload.findall(Tag.PROTOCOL_VERSION)])
        self.assertEqual(answers[0][:2], [(2, 1), (2, 0)])
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0], answers[2])

    def test_xml_create_get(self) -> None:
        """A 1.4 Create + Get batch sent as XML (with a declaration) creates an AES key and returns it, in XML."""
        response = self.post(CREATE_GET_XML, b"text/xml; charset=utf-8")
        self.assertIn(b"<ResponseMessage>", response.body)
        create, get = results(self.kmip(response, XML))
        self.assertEqual((create.status, get.status), (ResultStatus.SUCCESS, ResultStatus.SUCCESS))
        uid = create.payload.get(Tag.UNIQUE_IDENTIFIER)
        self.assertEqual(get.payload.get(Tag.UNIQUE_IDENTIFIER), uid)
        key = get.payload.find(Tag.SYMMETRIC_KEY)
        material = [n for n in key.walk() if n.tag == Tag.KEY_MATERIAL]
        self.assertEqual(len(material[0].value), 16)
        self.assertEqual(self.identified, ["alice"])

    def test_json_create_get(self) -> None:
        """A 2.0 Create + Get batch sent as JSON creates a 256-bit key and returns it, in JSON."""
        response = self.post(CREATE_GET_JSON, JSON)
        self.assertTrue(response.body.startswith(b'{"tag": "ResponseMessage"'))
        message = self.kmip(response, JSON)
        header = message.find(Tag.RESPONSE_HEADER).find(Tag.PROTOCOL_VERSION)
        self.assertEqual(header.get(Tag.PROTOCOL_VERSION_MAJOR), 2)
        create, get = results(message)
        self.assertEqual((create.status, get.status), (ResultStatus.SUCCESS, ResultStatus.SUCCESS))
        key = get.payload.find(Tag.SYMMETRIC_KEY)
        material = [n for n in key.walk() if n.tag == Tag.KEY_MATERIAL]
        self.assertEqual(len(material[0].value), 32)

    def test_created_object_owned_by_certificate_identity(self) -> None:
        """An object created over HTTPS belongs to the certificate's identity: another client cannot Get it."""
        create, _ = results(self.kmip(self.post(CREATE_GET_XML, XML), XML))
        uid = create.payload.get(Tag.UNIQUE_IDENTIFIER)
        get = _request(Operation.GET, payload(Item.text(Tag.UNIQUE_IDENTIFIER, uid)))
        (mine,) = results(self.kmip(self.post(encode(get), certificate="alice"), OCTET))
        (theirs,) = results(self.kmip(self.post(encode(get), certificate="mallory"), OCTET))
        self.assertEqual(mine.status, ResultStatus.SUCCESS)
        self.assertEqual(theirs.status, ResultStatus.OPERATION_FAILED)

    def test_maximum_response_size_counts_ttlv_bytes(self) -> None:
        """Maximum Response Size applies to the TTLV size even when the answer is XML (profile section 6)."""
        small = request(batch_item(Operation.QUERY, payload(Item.enum(Tag.QUERY_FUNCTION, 1))),
                        header_extra=[Item.int(Tag.MAXIMUM_RESPONSE_SIZE, 256)])
        (result,) = results(self.kmip(self.post(to_xml(small).encode(), XML), XML))
        self.assertEqual((result.status, result.reason),
                         (ResultStatus.OPERATION_FAILED, ResultReason.RESPONSE_TOO_LARGE))

    def test_keep_alive_identifies_once(self) -> None:
        """Two requests on one connection are both answered; the certificate is checked once."""
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        proto.dataReceived(http_request(to_json(QUERY).encode(), JSON))
        first = Response(transport.value())
        second = Response(first.rest)
        self.kmip(first, OCTET)
        self.kmip(second, JSON)
        self.assertEqual(self.identified, ["alice"])

    def test_http_10(self) -> None:
        """An HTTP/1.0 request is answered with a Content-Length."""
        response = self.post(encode(DISCOVER), version=b"HTTP/1.0")
        self.kmip(response, OCTET)
        self.assertEqual(int(response.headers[b"content-length"]), len(response.body))

    def test_text_conversion_runs_in_pool(self) -> None:
        """XML decoding, dispatch and XML rendering all run through the dispatcher's run_blocking."""
        calls: list[str] = []

        def run_blocking(f: Any, *args: Any) -> Deferred:
            calls.append(f.__name__)
            return run_now(f, *args)

        self.dispatcher.run_blocking = run_blocking
        self.kmip(self.post(to_xml(QUERY).encode(), XML), XML)
        self.assertEqual(calls, ["_text_to_binary", "process_many", "_binary_to_text"])


class RefusalTests(SiteMixin, SynchronousTestCase):
    """HTTP-level refusals: method, content type, size, path, certificate."""

    limits = Limits(max_message_size=512)

    def assertNotDispatched(self) -> None:
        self.assertEqual(self.dispatched, [])

    def setUp(self) -> None:
        super().setUp()
        self.dispatched: list[bytes] = []
        handle = self.dispatcher.handle

        def recording(data: bytes, caller: Caller) -> Deferred:
            self.dispatched.append(data)
            return handle(data, caller)

        self.dispatcher.handle = recording  # type: ignore[method-assign]

    def test_get_not_allowed(self) -> None:
        """GET is answered 405 with Allow: POST."""
        response = self.post(b"", None, method=b"GET")
        self.assertEqual(response.status, 405)
        self.assertEqual(response.headers[b"allow"], b"POST")
        self.assertNotDispatched()

    def test_put_not_allowed(self) -> None:
        """PUT with a valid TTLV body is answered 405 and not dispatched."""
        self.assertEqual(self.post(encode(DISCOVER), method=b"PUT").status, 405)
        self.assertNotDispatched()

    def test_unknown_content_type(self) -> None:
        """A body of another media type is answered 415."""
        response = self.post(encode(DISCOVER), b"text/plain")
        self.assertEqual(response.status, 415)
        self.assertIn(b"application/json", response.body)
        self.assertNotDispatched()

    def test_form_content_type(self) -> None:
        """An HTML form post is answered 415."""
        self.assertEqual(self.post(b"a=b", b"application/x-www-form-urlencoded").status, 415)

    def test_missing_content_type(self) -> None:
        """A body without Content-Type is answered 415."""
        self.assertEqual(self.post(encode(DISCOVER), None).status, 415)

    def test_announced_body_too_large(self) -> None:
        """A Content-Length over max_message_size is answered 413 and the connection closed, before the body."""
        proto, transport = self.connect()
        proto.dataReceived(b"POST /kmip HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                           b"Content-Length: 513\r\nExpect: 100-continue\r\n\r\n")
        response = Response(transport.value())
        self.assertEqual(response.status, 413)
        self.assertTrue(transport.disconnecting)
        self.assertNotIn(b"100 Continue", transport.value())
        proto.dataReceived(b"x" * 513)
        self.assertEqual(Response(transport.value()).rest, b"")
        self.assertNotDispatched()
        self.assertEqual(self.identified, [])

    def test_chunked_body_too_large(self) -> None:
        """A chunked body that grows past max_message_size is answered 413 and the connection closed."""
        proto, transport = self.connect()
        proto.dataReceived(b"POST /kmip HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")
        proto.dataReceived(b"200\r\n" + b"\0" * 0x200 + b"\r\n")
        self.assertEqual(transport.value(), b"")
        proto.dataReceived(b"10\r\n" + b"\0" * 0x10 + b"\r\n0\r\n\r\n")
        self.assertEqual(Response(transport.value()).status, 413)
        self.assertTrue(transport.disconnecting)
        self.assertNotDispatched()

    def test_body_at_limit_accepted(self) -> None:
        """A body of exactly max_message_size bytes is processed."""
        body = encode(DISCOVER)
        padded = request(batch_item(Operation.DISCOVER_VERSIONS),
                         header_extra=[Item.text(Tag.CLIENT_CORRELATION_VALUE, "x" * (512 - len(body) - 8))])
        data = encode(padded)
        self.assertEqual(len(data), 512)
        self.kmip(self.post(data), OCTET)
        self.assertEqual(self.dispatched, [data])

    def test_resource_limit_without_kmip_site(self) -> None:
        """Mounted in a plain Site, the resource itself answers an oversized body 413."""
        root = Resource()
        root.putChild(b"kmip", KMIPResource(self.dispatcher, identify_cn, self.limits))
        site = Site(root, reactor=MemoryReactorClock())
        proto = site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        transport = CertTransport("alice")
        proto.makeConnection(transport)
        proto.dataReceived(http_request(b"\0" * 600, XML))
        self.assertEqual(Response(transport.value()).status, 413)
        self.assertNotDispatched()

    def refused(self, response: Response, codec: bytes, transport: StringTransport) -> Item:
        """Check an Authentication Not Successful answer that closes the connection."""
        message = self.kmip(response, codec)
        (result,) = results(message)
        self.assertEqual((result.status, result.reason),
                         (ResultStatus.OPERATION_FAILED, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL))
        self.assertEqual(response.headers[b"connection"], b"close")
        self.assertTrue(transport.disconnecting)
        self.assertNotDispatched()
        return message

    def test_missing_client_certificate(self) -> None:
        """Without a client certificate the request is answered Authentication Not Successful, then closed."""
        proto, transport = self.connect(None)
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.refused(Response(transport.value()), OCTET, transport)
        self.assertEqual(self.identified, [None])

    def test_refusal_in_request_encoding_and_version(self) -> None:
        """A refused XML 2.0 request gets its Authentication Not Successful answer in XML and KMIP 2.0."""
        proto, transport = self.connect(None)
        proto.dataReceived(http_request(to_xml(_request(Operation.DISCOVER_VERSIONS, version=(2, 0))).encode(), XML))
        message = self.refused(Response(transport.value()), XML, transport)
        version = message.find(Tag.RESPONSE_HEADER).find(Tag.PROTOCOL_VERSION)
        self.assertEqual(version.get(Tag.PROTOCOL_VERSION_MAJOR), 2)

    def test_refusal_not_remembered(self) -> None:
        """A refused identity is not cached: the next connection is checked again."""
        self.post(encode(DISCOVER), certificate=None)
        self.kmip(self.post(encode(DISCOVER), certificate="alice"), OCTET)
        self.assertEqual(self.identified, [None, "alice"])

    def test_plain_transport_has_no_certificate(self) -> None:
        """A transport without getPeerCertificate (not TLS) counts as no certificate."""
        proto = self.site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.refused(Response(transport.value()), OCTET, transport)
        self.assertEqual(self.identified, [None])

    def test_other_paths_not_found(self) -> None:
        """Only /kmip (and /kmip/) serve KMIP; other paths are 404."""
        self.assertEqual(self.post(encode(DISCOVER), path=b"/").status, 404)
        self.assertEqual(self.post(encode(DISCOVER), path=b"/kmip/extra").status, 404)
        self.assertEqual(self.post(encode(DISCOVER), path=b"/kmip/").status, 200)
        self.assertEqual(len(self.dispatched), 1)

    def test_dispatcher_crash(self) -> None:
        """An unexpected dispatcher failure is logged and answered 500, without details."""
        self.dispatcher.handle = lambda data, caller: fail(RuntimeError("boom"))  # type: ignore
        response = self.post(encode(DISCOVER))
        self.assertEqual(response.status, 500)
        self.assertNotIn(b"boom", response.body)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_client_gone_before_reply(self) -> None:
        """A client that disconnects while its request runs gets nothing written and causes no error."""
        pending: list[Deferred] = []
        self.dispatcher.handle = lambda data, caller: pending.append(Deferred()) or pending[-1]  # type: ignore
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        transport.loseConnection()
        proto.connectionLost(Exception("gone"))
        before = transport.value()
        pending[0].callback(self.dispatcher.processor.process(encode(DISCOVER), Caller("alice")))
        self.assertEqual(transport.value(), before)
        self.assertEqual(self.site.connections, set())


class MalformedBodyTests(SiteMixin, SynchronousTestCase):
    """Bodies that do not decode get a KMIP Invalid Message response (200) in the request's encoding."""

    def invalid(self, body: bytes, codec: bytes) -> Item:
        message = self.kmip(self.post(body, codec), codec)
        (result,) = results(message)
        self.assertEqual((result.status, result.reason),
                         (ResultStatus.OPERATION_FAILED, ResultReason.INVALID_MESSAGE))
        return message

    def test_malformed_xml(self) -> None:
        """Text that is not well-formed XML gets Invalid Message in XML naming the problem."""
        message = self.invalid(b"<RequestMessage><RequestHeader>", XML)
        (result,) = results(message)
        self.assertIn("cannot decode XML message", result.message)

    def test_xml_entities_refused(self) -> None:
        """An XML document with a DOCTYPE (entity expansion) is refused as Invalid Message."""
        self.invalid(b'<!DOCTYPE a [<!ENTITY x "y">]><RequestMessage/>', XML)

    def test_xml_utf16_entities_refused(self) -> None:
        """A UTF-16 request whose DOCTYPE entity would make it valid is refused, never expanded or dispatched."""
        text = to_xml(DISCOVER).replace('<BatchCount type="Integer" value="1"/>',
                                        '<BatchCount type="Integer" value="&one;"/>')
        document = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE RequestMessage [<!ENTITY one "1">]>\n' + text
        for body in (document.encode("utf-16"), document.encode("utf-16-le"), document.encode("utf-16-be")):
            message = self.invalid(body, XML)
            (result,) = results(message)
            self.assertIn("UTF-8", result.message)

    def test_xml_utf8_entities_refused(self) -> None:
        """A UTF-8 request whose DOCTYPE entity would make it valid is refused at the parser."""
        text = to_xml(DISCOVER).replace('<BatchCount type="Integer" value="1"/>',
                                        '<BatchCount type="Integer" value="&one;"/>')
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE RequestMessage [<!ENTITY one "1">]>\n'
                + text).encode()
        (result,) = results(self.invalid(body, XML))
        self.assertIn("DOCTYPE and ENTITY declarations are not allowed", result.message)

    def test_xml_bad_value(self) -> None:
        """A well-formed XML request with a bad value gets Invalid Message in the request's version."""
        body = to_xml(DISCOVER).replace('<BatchCount type="Integer" value="1"/>',
                                        '<BatchCount type="Integer" value="one"/>').encode()
        self.assertIn(b'value="one"', body)
        message = self.invalid(body, XML)
        version = message.find(Tag.RESPONSE_HEADER).find(Tag.PROTOCOL_VERSION)
        self.assertEqual((version.get(Tag.PROTOCOL_VERSION_MAJOR), version.get(Tag.PROTOCOL_VERSION_MINOR)),
                         (1, 4))

    def test_malformed_json(self) -> None:
        """Text that is not JSON gets Invalid Message in JSON."""
        message = self.invalid(b'{"tag": "RequestMessage", "value": [', JSON)
        (result,) = results(message)
        self.assertIn("cannot decode JSON message", result.message)

    def test_json_version_sniffed(self) -> None:
        """An undecodable 2.0 JSON request is answered in KMIP 2.0."""
        body = to_json(_request(Operation.DISCOVER_VERSIONS, version=(2, 0))).replace(
            '"BatchCount", "type": "Integer"', '"BatchCount", "type": "Float"').encode()
        message = self.invalid(body, JSON)
        version = message.find(Tag.RESPONSE_HEADER).find(Tag.PROTOCOL_VERSION)
        self.assertEqual(version.get(Tag.PROTOCOL_VERSION_MAJOR), 2)

    def test_json_not_a_request(self) -> None:
        """A valid KMIP JSON item that is not a Request Message gets Invalid Message."""
        self.invalid(b'{"tag": "UniqueIdentifier", "type": "TextString", "value": "x"}', JSON)

    def test_invalid_utf8(self) -> None:
        """Bytes that are not UTF-8 get Invalid Message rather than an error."""
        self.invalid(b'{"tag": "\xff\xfe"}', JSON)
        self.invalid(b'<RequestMessage a="\xff"/>', XML)

    def test_garbage_ttlv(self) -> None:
        """Binary garbage gets the TTLV port's Invalid Message response, in TTLV."""
        self.invalid(b"\x42\x00\x78\x01\x00\x00\x00\x10garbage!", OCTET)

    def test_empty_body(self) -> None:
        """An empty body gets Invalid Message in each encoding."""
        for codec in (OCTET, XML, JSON):
            self.invalid(b"", codec)


def _padded_discover(size: int) -> bytes:
    """A binary DiscoverVersions request of exactly C{size} bytes (a long Client Correlation Value)."""
    base = len(encode(DISCOVER))
    data = encode(request(batch_item(Operation.DISCOVER_VERSIONS),
                          header_extra=[Item.text(Tag.CLIENT_CORRELATION_VALUE, "x" * (size - base - 8))]))
    assert len(data) == size
    return data


def _chunked(body: bytes, content_type: bytes, pieces: int) -> bytes:
    """A chunked POST /kmip carrying C{body} in C{pieces} chunks."""
    step = -(-len(body) // pieces)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + step]), body[i:i + step])
                      for i in range(0, len(body), step))
    return (b"POST /kmip HTTP/1.1\r\nHost: kmip.test\r\nContent-Type: " + content_type +
            b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")


class BodyBufferTests(SiteMixin, SynchronousTestCase):
    """Request bodies (key material) are buffered in memory only, never spooled to a temporary file."""

    limits = Limits(max_message_size=300_000)

    def setUp(self) -> None:
        super().setUp()
        self.spooled: list[Any] = []

        def temporary_file(*args: Any, **kwargs: Any) -> BytesIO:
            self.spooled.append(args)
            return BytesIO()  # let the request go on so the assertions report the spooling

        self.patch(tempfile, "TemporaryFile", temporary_file)
        self.bodies: list[type] = []
        bodies = self.bodies

        class Recording(KMIPRequest):
            def gotLength(self, length: int | None) -> None:
                super().gotLength(length)
                bodies.append(type(self.content))

        self.site.requestFactory = Recording

    def send(self, raw: bytes) -> tuple[Response, CertTransport]:
        proto, transport = self.connect()
        proto.dataReceived(raw)
        return Response(transport.value()), transport

    def test_large_body_in_memory(self) -> None:
        """A 150 kB body (Twisted would spool >= 100 kB to disk) is buffered in a BytesIO and answered."""
        data = _padded_discover(150_000)
        (result,) = results(self.kmip(self.post(data), OCTET))
        self.assertEqual((result.operation, result.status), (Operation.DISCOVER_VERSIONS, ResultStatus.SUCCESS))
        self.assertEqual((self.spooled, self.bodies), ([], [BytesIO]))

    def test_large_xml_body_in_memory(self) -> None:
        """A large XML body is buffered in memory and answered in XML."""
        body = to_xml(decode(_padded_discover(120_000))).encode()
        self.assertGreater(len(body), 100_000)
        (result,) = results(self.kmip(self.post(body, XML), XML))
        self.assertEqual(result.status, ResultStatus.SUCCESS)
        self.assertEqual((self.spooled, self.bodies), ([], [BytesIO]))

    def test_chunked_body_in_memory(self) -> None:
        """A chunked XML Create+Get (Twisted spools every chunked body to disk) is buffered in memory."""
        response, _ = self.send(_chunked(CREATE_GET_XML, XML, 5))
        create, get = results(self.kmip(response, XML))
        self.assertEqual((create.status, get.status), (ResultStatus.SUCCESS, ResultStatus.SUCCESS))
        self.assertEqual((self.spooled, self.bodies), ([], [BytesIO]))

    def test_large_chunked_body_in_memory(self) -> None:
        """A 200 kB chunked TTLV body is buffered in memory and answered."""
        response, _ = self.send(_chunked(_padded_discover(200_000), OCTET, 3))
        (result,) = results(self.kmip(response, OCTET))
        self.assertEqual(result.status, ResultStatus.SUCCESS)
        self.assertEqual((self.spooled, self.bodies), ([], [BytesIO]))

    def test_rejected_body_creates_no_file(self) -> None:
        """A body announced over the limit is answered 413 without any temporary file."""
        proto, transport = self.connect()
        proto.dataReceived(b"POST /kmip HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                           b"Content-Length: 400000\r\n\r\n")
        self.assertEqual(Response(transport.value()).status, 413)
        proto.dataReceived(b"\0" * 400_000)
        self.assertEqual((self.spooled, self.bodies), ([], [BytesIO]))

    def test_rejected_chunked_body_creates_no_file(self) -> None:
        """A chunked body growing over the limit is answered 413 without any temporary file."""
        response, transport = self.send(_chunked(b"\0" * 300_001, OCTET, 2))
        self.assertEqual(response.status, 413)
        self.assertTrue(transport.disconnecting)
        self.assertEqual((self.spooled, self.bodies), ([], [BytesIO]))


class LoggingTests(SiteMixin, SynchronousTestCase):
    """One structured log event per HTTPS request."""

    def test_event_fields(self) -> None:
        """Each request logs client, operation, result_status, duration, encoding and HTTP status."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.post(to_xml(QUERY).encode(), XML)
        self.post(b"", b"text/plain")
        request_events = [e for e in events if "http_status" in e]
        self.assertEqual(len(request_events), 2)
        ok, refused = request_events
        self.assertEqual((ok["client"], ok["operation"], ok["result_status"], ok["encoding"], ok["http_status"]),
                         ("alice", "QUERY", "success", "xml", 200))
        self.assertIsInstance(ok["duration"], float)
        self.assertEqual((refused["http_status"], refused["result_status"]), (415, "http 415"))
        for event in request_events:
            self.assertNotIn("body", event)


def _reason(response: Response) -> int | None:
    """The result reason of the single batch item of a binary 200 response."""
    (result,) = results(decode(response.body))
    return result.reason


class ConnectionCapTests(SiteMixin, SynchronousTestCase):
    """HTTPS connections count against max_connections and max_connections_per_client."""

    limits = Limits(max_connections=3, max_connections_per_client=2)

    def test_global_cap_closes_at_accept(self) -> None:
        """Past max_connections a connection is aborted when accepted, ignored, and frees no slot."""
        open_ = [self.connect() for _ in range(3)]
        proto, transport = self.connect()
        self.assertTrue(transport.disconnected)
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.identified, [])
        proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.site.connection_counter.open, 3)
        self.assertEqual(len(self.site.connections), 3)
        first, _ = open_[0]
        first.connectionLost(Failure(ConnectionDone()))
        _, transport = self.connect()
        self.assertFalse(transport.disconnected)

    def test_per_identity_cap_refused(self) -> None:
        """A client's connection past its cap gets Authentication Not Successful in its encoding, then closes."""
        for _ in range(2):
            self.kmip(self.post(encode(DISCOVER)), OCTET)
        self.assertEqual(self.site.connection_counter.clients, {"alice": 2})
        response = self.post(to_json(DISCOVER).encode(), JSON)
        (result,) = results(self.kmip(response, JSON))
        self.assertEqual(result.reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertEqual(response.headers[b"connection"], b"close")
        self.assertEqual(self.site.connection_counter.clients, {"alice": 2})

    def test_counts_released_on_close(self) -> None:
        """Closing a connection frees its global and per-identity slots; keep-alive requests count once."""
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.assertEqual(self.site.connection_counter.clients, {"alice": 1})
        proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual((self.site.connection_counter.open, self.site.connection_counter.clients), (0, {}))
        self.assertEqual(self.site.connections, set())

    def test_client_gone_during_identify_not_counted(self) -> None:
        """A connection lost while its identity is looked up is not counted against the identity."""
        pending: Deferred = Deferred()
        self.identify_with = lambda cert: pending
        proto, _ = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        proto.connectionLost(Failure(ConnectionDone()))
        pending.callback(Caller("alice"))
        self.assertEqual((self.site.connection_counter.open, self.site.connection_counter.clients), (0, {}))

    def test_shared_with_ttlv_factory(self) -> None:
        """With the TTLV factory's counter, TTLV and HTTPS connections share both caps."""
        factory = KMIPServerFactory(self.dispatcher, limits=self.limits, clock=self.reactor,
                                    identify=lambda cert: succeed(Caller("alice")), tls=False)
        site = build_site(self.dispatcher, identify_cn, limits=self.limits, reactor=self.reactor,
                          counter=factory.counter)
        for _ in range(2):  # two TTLV connections of alice
            factory.buildProtocol(None).makeConnection(StringTransport())
        self.assertEqual(site.connection_counter.clients, {"alice": 2})
        proto = site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        transport = CertTransport("alice")
        proto.makeConnection(transport)
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.assertEqual(_reason(Response(transport.value())), ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertTrue(transport.disconnecting)
        third = site.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40001))
        over = CertTransport("bob")
        third.makeConnection(over)
        self.assertTrue(over.disconnected)  # 2 TTLV + 1 HTTPS = max_connections
        ttlv = StringTransport()
        factory.buildProtocol(None).makeConnection(ttlv)
        self.assertTrue(ttlv.disconnected)


class MessageDeadlineTests(SiteMixin, SynchronousTestCase):
    """A request must arrive in full within message_timeout of its first bytes."""

    limits = Limits(message_timeout=5)

    def test_partial_body_aborted(self) -> None:
        """A body that stops short is aborted at the deadline, without an answer."""
        proto, transport = self.connect()
        raw = http_request(encode(DISCOVER))
        proto.dataReceived(raw[:-10])
        self.reactor.advance(4.9)
        self.assertFalse(transport.disconnected)
        self.reactor.advance(0.2)
        self.assertTrue(transport.disconnected)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.identified, [])

    def test_trickling_does_not_extend(self) -> None:
        """Bytes trickling in do not restart the deadline: it counts from the request's first byte."""
        proto, transport = self.connect()
        raw = http_request(encode(DISCOVER))
        for i in range(5):
            proto.dataReceived(raw[i:i + 1])
            self.reactor.advance(1)
        self.assertTrue(transport.disconnected)

    def test_complete_request_stops_deadline(self) -> None:
        """A request completed in time is answered and the idle connection then stays open."""
        proto, transport = self.connect()
        raw = http_request(encode(DISCOVER))
        proto.dataReceived(raw[:20])
        self.reactor.advance(4)
        proto.dataReceived(raw[20:])
        self.kmip(Response(transport.value()), OCTET)
        self.reactor.advance(60)
        self.assertFalse(transport.disconnected)

    def test_each_request_has_its_own_deadline(self) -> None:
        """On a kept-alive connection the deadline starts again with the next request's first bytes."""
        proto, transport = self.connect()
        raw = http_request(encode(DISCOVER))
        proto.dataReceived(raw)
        self.reactor.advance(4)
        proto.dataReceived(raw[:30])
        self.reactor.advance(4)
        self.assertFalse(transport.disconnected)
        self.reactor.advance(1.1)
        self.assertTrue(transport.disconnected)

    def test_wait_for_the_server_not_counted(self) -> None:
        """Pipelined bytes buffered while the server works run no deadline until the server is done."""
        pending: Deferred = Deferred()
        handle = self.dispatcher.handle
        self.dispatcher.handle = lambda data, caller: pending.addCallback(  # type: ignore[method-assign]
            lambda _: handle(data, caller))
        proto, transport = self.connect()
        raw = http_request(encode(DISCOVER))
        proto.dataReceived(raw + raw[:30])
        self.reactor.advance(20)
        self.assertFalse(transport.disconnected)
        pending.callback(None)
        self.kmip(Response(transport.value()), OCTET)
        self.reactor.advance(5.1)
        self.assertTrue(transport.disconnected)


class ReidentifyTests(SiteMixin, SynchronousTestCase):
    """With reidentify_after, a connection's caller is resolved again once that long has passed."""

    reidentify_after = 30.0

    def test_within_ttl_no_lookup(self) -> None:
        """Requests within reidentify_after of the lookup reuse the caller."""
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.reactor.advance(29)
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.kmip(Response(Response(transport.value()).rest), OCTET)
        self.assertEqual(self.identified, ["alice"])

    def test_after_ttl_resolved_again_asynchronously(self) -> None:
        """After reidentify_after the request waits for a new lookup and runs with its result."""
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        first = len(transport.value())
        pending: Deferred = Deferred()
        self.identify_with = lambda cert: pending
        self.reactor.advance(30)
        proto.dataReceived(http_request(encode(QUERY)))
        self.assertEqual(self.identified, ["alice", "alice"])
        self.assertEqual(len(transport.value()), first)  # waiting for the lookup
        pending.callback(Caller("alice"))
        (result,) = results(self.kmip(Response(transport.value()[first:]), OCTET))
        self.assertEqual((result.operation, result.status), (Operation.QUERY, ResultStatus.SUCCESS))
        self.assertEqual(self.site.connection_counter.clients, {"alice": 1})

    def test_refused_on_reresolution(self) -> None:
        """A refused re-resolution answers Authentication Not Successful and closes the connection."""
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        first = len(transport.value())
        self.identify_with = lambda cert: fail(IdentityError("no longer a member"))
        self.reactor.advance(31)
        proto.dataReceived(http_request(encode(DISCOVER)))
        response = Response(transport.value()[first:])
        self.assertEqual(_reason(response), ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertEqual(response.headers[b"connection"], b"close")
        self.assertTrue(transport.disconnecting)

    def test_never_without_reidentify_after(self) -> None:
        """Without reidentify_after the caller is resolved once per connection however long it lives."""
        def identify(cert: Any) -> Deferred:
            self.identified.append(cert)
            return identify_cn(cert)

        self.site = build_site(self.dispatcher, identify, limits=self.limits, reactor=self.reactor)
        proto, transport = self.connect()
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.reactor.advance(200)  # well past 30 s, within idle_timeout
        proto.dataReceived(http_request(encode(DISCOVER)))
        self.kmip(Response(Response(transport.value()).rest), OCTET)
        self.assertEqual(self.identified, ["alice"])


class ServiceTests(TestCase):
    """KMIPService listens for HTTPS only when https_listen is configured."""

    def config(self, **overrides: Any) -> Any:
        overrides.setdefault("data_dir", os.path.abspath(self.mktemp()))
        overrides.setdefault("listen", ("tcp:5696:interface=127.0.0.1",))
        return load_config(None, overrides)

    def test_no_https_by_default(self) -> None:
        """Without https_listen there is no site and only the TTLV endpoint is bound."""
        reactor = MemoryReactorClock()
        service = KMIPService(self.config(), reactor=reactor, store=MemoryObjectStore(), tls=False)
        service.privilegedStartService()
        self.assertIsNone(service.site)
        self.assertEqual(len(reactor.tcpServers), 1)
        self.assertEqual(service.https_ports, [])

    def test_https_endpoints(self) -> None:
        """Each https_listen endpoint is bound to the KMIP site, wrapped in TLS; stop closes its connections."""
        reactor = MemoryReactorClock()
        service = KMIPService(self.config(https_listen=("tcp:8443:interface=127.0.0.1", "tcp:8444")),
                              reactor=reactor, store=MemoryObjectStore())
        service.privilegedStartService()
        self.assertIsInstance(service.site, KMIPSite)
        bound = [(port, interface, factory) for port, factory, _, interface in reactor.tcpServers]
        self.assertEqual([(p, i) for p, i, _ in bound],
                         [(5696, "127.0.0.1"), (8443, "127.0.0.1"), (8444, "")])
        https_factory = bound[1][2]
        self.assertIs(https_factory.wrappedFactory, service.site)
        self.assertEqual(len(service.https_ports), 2)
        self.assertEqual(service.site.max_body_size, service.limits.max_message_size)
        self.assertIs(service.site.connection_counter, service.factory.counter)
        self.assertEqual(service.site.message_timeout, service.limits.message_timeout)
        proto = service.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = CertTransport(None)
        proto.makeConnection(transport)
        self.assertEqual(len(service.site.connections), 1)
        service.stopService()
        self.assertTrue(transport.disconnecting)
        self.assertEqual(service.https_ports, [])

    def test_https_reidentifies_only_with_slugs(self) -> None:
        """The HTTPS resource re-resolves callers after slugs_cache_ttl exactly when the TTLV port does."""
        from kmipd.config import SlugsConfig

        url = "http://127.0.0.1:1/slugs/"
        for slugs, expected in (((), None), ((SlugsConfig("auth:slugs", True, url),), 12.0)):
            service = KMIPService(self.config(https_listen=("tcp:8443",), slugs=slugs, slugs_cache_ttl=12),
                                  reactor=MemoryReactorClock(), store=MemoryObjectStore(), tls=False,
                                  http_client=object())
            resource = service.site.resource.children[b"kmip"]
            self.assertEqual(resource.reidentify_after, expected, slugs)
            self.assertEqual(service.factory.reidentify_after, expected, slugs)

    def test_https_refuses_missing_certificate(self) -> None:
        """Through the service's identify, a request without a certificate gets Authentication Not Successful."""
        reactor = MemoryReactorClock()
        service = KMIPService(self.config(https_listen=("tcp:8443",)), reactor=reactor, store=MemoryObjectStore())
        service.dispatcher.run_blocking = run_now  # the pool is not started in this unit test
        proto = service.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = CertTransport(None)
        proto.makeConnection(transport)
        proto.dataReceived(http_request(encode(DISCOVER)))
        response = Response(transport.value())
        self.assertEqual(response.status, 200)
        (result,) = results(decode(response.body))
        self.assertEqual(result.reason, ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
        self.assertTrue(transport.disconnecting)


# Real HTTPS over loopback (deliberately few) -----------------------------------------------------

def _https_client(port: int, ca: str, cert: str | None, key: str | None,
                  exchanges: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes | None, bytes]]:
    """POST each (content type, body) over one HTTPS connection; return (status, content type, body)."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    out = []
    try:
        for content_type, body in exchanges:
            conn.request("POST", "/kmip", body=body, headers={
                "Content-Type": content_type.decode(), "Cache-Control": "no-cache"})
            response = conn.getresponse()
            data = response.read()
            ctype = response.getheader("Content-Type")
            out.append((response.status, ctype.encode() if ctype else None, data))
    finally:
        conn.close()
    return out


class HTTPSExchange:
    """A conformance-runner exchange that posts each request over HTTPS in one encoding."""

    def __init__(self, port: int, pki: Any, codec: bytes) -> None:
        ctx = ssl.create_default_context(cafile=pki.ca_cert)
        ctx.load_cert_chain(pki.client_cert, pki.client_key)
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        self.codec = codec

    def __call__(self, data: bytes, expected: Any) -> bytes:
        item = decode(data)
        body = {OCTET: lambda: data, XML: lambda: to_xml(item).encode(),
                JSON: lambda: to_json(item).encode()}[self.codec]()
        self.conn.request("POST", "/kmip", body=body, headers={
            "Content-Type": self.codec.decode(), "Cache-Control": "no-cache"})
        response = self.conn.getresponse()
        answer = response.read()
        if response.status != 200 or response.getheader("Content-Type") != self.codec.decode():
            raise ConnectionError(f"HTTP {response.status} {response.getheader('Content-Type')}")
        if self.codec == XML:
            return encode(from_xml(answer))
        if self.codec == JSON:
            return encode(from_json(answer))
        return answer


class LoopbackTests(TestCase):
    """A real KMIPService serving HTTPS with mutual TLS on loopback."""

    timeout = 60

    def setUp(self) -> None:
        config = load_config(None, {"data_dir": os.path.abspath(self.mktemp()),
                                    "listen": ("tcp:0:interface=127.0.0.1",),
                                    "https_listen": ("tcp:0:interface=127.0.0.1",)})
        self.service = KMIPService(config, store=MemoryObjectStore())
        self.service.startService()
        self.addCleanup(self.service.stopService)
        (port,) = self.service.https_ports
        self.port = port.getHost().port
        from kmipd.devcerts import ensure_dev_pki

        self.pki = ensure_dev_pki(config.data_dir)

    @defer.inlineCallbacks
    def test_ttlv_and_xml(self):  # type: ignore[no-untyped-def]
        """With the dev client certificate, a TTLV Query and an XML DiscoverVersions are answered 200."""
        answers = yield deferToThread(_https_client, self.port, self.pki.ca_cert, self.pki.client_cert,
                                      self.pki.client_key, [(OCTET, encode(QUERY)), (XML, to_xml(DISCOVER).encode())])
        (s1, t1, b1), (s2, t2, b2) = answers
        self.assertEqual((s1, t1, s2, t2), (200, OCTET, 200, XML))
        (query,) = results(decode(b1))
        (discover,) = results(from_xml(b2))
        self.assertEqual((query.operation, query.status), (Operation.QUERY, ResultStatus.SUCCESS))
        self.assertEqual((discover.operation, discover.status), (Operation.DISCOVER_VERSIONS, ResultStatus.SUCCESS))

    def _alpn_exchange(self, offered: list[str], http_version: bytes) -> tuple[str | None, bytes]:
        """Handshake offering C{offered} over ALPN, POST one TTLV Query in C{http_version}; (selected, response)."""
        import socket

        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        ctx.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        ctx.set_alpn_protocols(offered)
        body = encode(QUERY)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                selected = tls.selected_alpn_protocol()
                tls.sendall(b"POST /kmip " + http_version + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body)
                            + body)
                data = b""
                while chunk := tls.recv(65536):  # the server closes after the response
                    data += chunk
        return selected, data

    @defer.inlineCallbacks
    def test_alpn_http1_only(self):  # type: ignore[no-untyped-def]
        """ALPN selects http/1.0 or http/1.1 as offered, never h2; a client offering only h2 still gets TLS, no ALPN."""
        for offered, version, expected in ((["http/1.0"], b"HTTP/1.0", "http/1.0"),
                                           (["h2", "http/1.1"], b"HTTP/1.1", "http/1.1"),
                                           (["h2", "http/1.1", "http/1.0"], b"HTTP/1.1", "http/1.1"),
                                           (["h2"], b"HTTP/1.1", None)):
            selected, data = yield deferToThread(self._alpn_exchange, offered, version)
            self.assertEqual(selected, expected, offered)
            response = Response(data)
            self.assertEqual(response.status, 200, offered)
            (query,) = results(decode(response.body))
            self.assertEqual(query.status, ResultStatus.SUCCESS, offered)

    @defer.inlineCallbacks
    def test_no_client_certificate(self):  # type: ignore[no-untyped-def]
        """Without a client certificate the TLS handshake is refused (certificate required): nothing is served."""
        d = deferToThread(_https_client, self.port, self.pki.ca_cert, None, None, [(OCTET, encode(DISCOVER))])
        yield self.assertFailure(d, OSError, http.client.HTTPException)

    @defer.inlineCallbacks
    def test_msgenc_vectors(self):  # type: ignore[no-untyped-def]
        """MSGENC-HTTPS/XML/JSON-M-1-14 replayed over HTTPS in their encodings give the in-process results."""
        from tests.conformance.runner import Matcher, default_vector_root, new_kmipd

        directory = os.path.join(default_vector_root(), "kmip-1.4", "mandatory")
        if not os.path.isdir(directory):
            self.skipTest(f"no conformance vectors in {directory}")
        for name, codec in (("MSGENC-HTTPS-M-1-14.xml", OCTET), ("MSGENC-XML-M-1-14.xml", XML),
                            ("MSGENC-JSON-M-1-14.xml", JSON)):
            with open(os.path.join(directory, name), "rb") as f:
                text = f.read()
            exchange = HTTPSExchange(self.port, self.pki, codec)
            try:
                over_https = yield deferToThread(Matcher(now=time.time).run_vector, text, exchange)
            finally:
                exchange.conn.close()
            in_process = Matcher(now=time.time).run_vector(text, new_kmipd()[0])
            self.assertEqual(over_https, in_process, name)
            # Step 0 (Maximum Response Size too small -> Response Too Large) must pass; only the
            # operation list of step 1 may differ from the vector (no Poll in kmipd).
            if not over_https[0]:
                self.assertTrue(over_https[1].startswith("step 1: "), over_https[1])
