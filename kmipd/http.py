# -*- test-case-name: tests.test_http -*-
"""KMIP over HTTPS (OASIS KMIP Additional Message Encodings v1.0, sections 2, 4 and 6).

L{KMIPResource} answers C{POST /kmip} with a request message in one of three encodings, chosen
by the C{Content-Type}: C{application/octet-stream} (binary TTLV), C{text/xml} (KMIP XML) or
C{application/json} (KMIP JSON).  The response uses the request's encoding and carries
C{Content-Length} and C{Cache-Control: no-cache}, with status 200 whenever a KMIP response
exists -- including a KMIP I{Invalid Message} response to a body that cannot be decoded, just as
the TTLV port answers garbage, and a KMIP I{Authentication Not Successful} response (then the
connection closes) when the client certificate is missing or refused, as on the TTLV port.
HTTP-level refusals are 405 (not POST), 415 (another content type), 413 (body larger than
C{max_message_size}) and 404 (another path).

The XML and JSON bodies are converted to binary TTLV (and the response back) in the operation
thread pool (the dispatcher's C{run_blocking}), so the reactor never parses a large document; the
binary message then takes exactly the TTLV port's path through L{Dispatcher.handle}.  Sizes in the
messages (Maximum Response Size) therefore count TTLV bytes, as the profile requires.

The client identity comes from the TLS client certificate of the connection through the
service's C{identify} function (certificate CN, then SLUGS) on the connection's first request, and
again before a later request once it is older than C{reidentify_after} seconds (SLUGS group
membership may change), as on the TTLV port.
L{KMIPSite} adds the transport-level defences: a request whose announced (or, when chunked,
received) body exceeds the limit is answered 413 and the connection closed before the body is
read, bodies are buffered in memory only (never spooled to a temporary file, as Twisted does from
100 kB or when chunked), a request must arrive in full within C{message_timeout} seconds of its
first bytes, and the site tracks its connections so the service can close them on stop.  Its
connections count against a L{ConnectionCounter} (shared with the TTLV port in a service): past
C{max_connections} a connection is closed as soon as it is accepted, past
C{max_connections_per_client} for one identity its request is answered Authentication Not
Successful and the connection closed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from kmipd.log import Logger

from . import audit
from .auth.identify import Caller
from .dispatch import Dispatcher, Reply, sniff_version
from .limits import Limits
from .messages import SUPPORTED_VERSIONS, Version, negotiate
from .session import ConnectionCounter, ConnectionLimitExceeded, Deadline, Identify, Session, peer_host
from .spec import ResultReason
from .tls import HTTPS_ALPN
from .ttlv import DecodeError, Item, decode, encode
from .ttlv.json import from_json, to_json
from .ttlv.xml import EncodingError, from_xml, to_xml

__all__ = ["CONTENT_TYPES", "KMIP_PATH", "ConnectionLimitExceeded", "KMIPResource", "KMIPSite", "build_site"]

_log = Logger()

KMIP_PATH = b"kmip"
"""The request URI the profile recommends (C{/kmip})."""

@dataclass(frozen=True)
class _Codec:
    """One message encoding: its name, media type and text converters (C{None} for TTLV)."""

    name: str
    content_type: bytes
    parse: Callable[..., Item] | None = None
    render: Callable[[Item], str] | None = None


TTLV = _Codec("ttlv", b"application/octet-stream")
XML = _Codec("xml", b"text/xml", from_xml, to_xml)
JSON = _Codec("json", b"application/json", from_json, to_json)

CONTENT_TYPES: dict[bytes, _Codec] = {c.content_type: c for c in (TTLV, XML, JSON)}
"""Accepted media types (parameters such as C{charset} are ignored)."""

_VERSION_RE = re.compile(
    rb"ProtocolVersion(Major|Minor)\W{1,40}?(?:type\W{1,5}Integer\W{1,5})?value\W{1,5}(0x[0-9A-Fa-f]{1,8}|\d{1,9})")


def _media_type(request: Any) -> bytes | None:
    raw = request.getHeader(b"content-type")
    if raw is None:
        return None
    return raw.split(b";", 1)[0].strip().lower()


def _sniff_text_version(body: bytes) -> Version:
    """Best guess of the protocol version of an undecodable XML/JSON request (for the error reply)."""
    found: dict[bytes, int] = {}
    for which, value in _VERSION_RE.findall(body[:4096]):
        found.setdefault(which, int(value, 16) if value[:2].lower() == b"0x" else int(value))
    if b"Major" not in found:
        return (1, 0)
    version = (found[b"Major"], found.get(b"Minor", 0))
    chosen = negotiate(version)
    if chosen is not None:
        return chosen
    return SUPPORTED_VERSIONS[0] if version > SUPPORTED_VERSIONS[0] else SUPPORTED_VERSIONS[-1]


def peer_certificate(request: Any) -> Any:
    """The TLS client certificate of C{request}'s connection, or C{None} (not TLS, or none sent)."""
    transport = getattr(getattr(request, "channel", None), "transport", None)
    get = getattr(transport, "getPeerCertificate", None)
    if get is None:
        return None
    try:
        return get()
    except Exception:  # not a TLS connection after all, or the handshake is not complete
        return None


class KMIPResource(Resource):
    """The C{/kmip} endpoint: POST a KMIP request message, get the response message.

    @param dispatcher: runs binary request messages (L{Dispatcher.handle}); its C{run_blocking}
        runs the XML/JSON conversions.
    @param identify: certificate -> Deferred L{Caller} (L{kmipd.service.KMIPService.identify}).
    @param limits: C{max_message_size} bounds the body, C{max_depth} the text decoders.
    @param reidentify_after: seconds after which a connection's caller is resolved again through
        C{identify} before its next request, or C{None} never (once per connection).
    @param clock: an C{IReactorTime} for C{reidentify_after} (default: the dispatcher's clock).
    """

    isLeaf = True

    def __init__(self, dispatcher: Dispatcher, identify: Identify, limits: Limits | None = None, *,
                 reidentify_after: float | None = None, clock: Any = None) -> None:
        super().__init__()
        if clock is None:
            clock = dispatcher.clock
        self.dispatcher = dispatcher
        self.identify = identify
        self.limits = limits or dispatcher.limits
        self.reidentify_after = reidentify_after
        self.clock = clock

    # HTTP ---------------------------------------------------------------------------------------

    def render(self, request: Any) -> bytes | int:
        started = time.perf_counter()
        request.setHeader(b"Server", b"kmipd")
        if request.postpath not in ([], [b""]):
            return self._refuse(request, started, 404, "no such resource (KMIP is served at /kmip)")
        if request.method != b"POST":
            request.setHeader(b"Allow", b"POST")
            return self._refuse(request, started, 405, "use POST")
        media = _media_type(request)
        codec = CONTENT_TYPES.get(media) if media is not None else None
        if codec is None:
            return self._refuse(request, started, 415,
                                "Content-Type must be application/octet-stream (TTLV), text/xml or application/json")
        limit = self.limits.max_message_size
        content = getattr(request, "content", None)
        body = content.read(limit + 1) if content is not None else b""
        if len(body) > limit:
            return self._refuse(request, started, 413, f"request body exceeds the limit of {limit} bytes")

        state = _Exchange(request, codec, started)
        request.notifyFinish().addErrback(state.gone)

        def proceed(caller: Caller) -> Deferred[None]:
            return self._process(state, caller, body)

        def refused(failure: Failure) -> Deferred[None]:
            return self._refused(state, failure, body)

        done: Deferred[None] = self._caller(request).addCallbacks(proceed, refused)
        done.addErrback(self._crashed, state)
        return NOT_DONE_YET

    def _refuse(self, request: Any, started: float, code: int, message: str) -> bytes:
        """An HTTP-level error with a one-line text body (and its log event)."""
        request.setResponseCode(code)
        body = (message + "\n").encode("utf-8")
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache")
        request.setHeader(b"Content-Length", b"%d" % len(body))
        _log_request(request, None, None, f"http {code}", None, started, code)
        return body

    # Identity -----------------------------------------------------------------------------------

    def _caller(self, request: Any) -> Deferred[Caller]:
        """The connection's caller, through its L{Session} (see L{kmipd.session}).

        Established on the connection's first request and remembered, resolved again once older
        than C{reidentify_after}; a resolved identity counts against the per-client cap (over it
        the Deferred fails with L{ConnectionLimitExceeded}). While the server's output budget is
        spent the request waits. Mounted in another site (no session), every request identifies.
        """
        session: Session | None = getattr(getattr(request, "channel", None), "session", None)
        certificate = peer_certificate(request)
        if session is None:
            return self.identify(certificate)
        session.identify = self.identify
        session.reidentify_after = self.reidentify_after
        session.clock = self.clock
        if session.may_dispatch():
            return session.current(certificate)
        room: Deferred[None] = Deferred()
        session.resume = lambda: None if room.called else room.callback(None)
        return room.addCallback(lambda _: session.current(certificate))

    def _refused(self, state: _Exchange, failure: Failure, body: bytes) -> Deferred[None]:
        """No usable identity: answer Authentication Not Successful (a KMIP response), then close."""
        _log.info("refusing HTTPS client {peer}: {reason}", peer=_peer(state.request),
                  reason=failure.getErrorMessage())
        audit.refused(getattr(self.dispatcher, "services", None), peer=_peer(state.request),  # ops: audit hook
                      transport="https", reason=failure.getErrorMessage())
        state.close = True
        session: Session | None = getattr(getattr(state.request, "channel", None), "session", None)
        if session is not None:
            session.forget_caller()
        d = self.dispatcher.run_blocking(self._refusal, state.codec, body)
        return d.addCallback(lambda reply: self._respond(state, reply))

    # KMIP ---------------------------------------------------------------------------------------

    def _process(self, state: _Exchange, caller: Caller, body: bytes) -> Deferred[None]:
        state.caller = caller
        run = self.dispatcher.run_blocking
        d: Deferred[Any]
        if state.codec.parse is None:
            d = self.dispatcher.handle(body, caller)
        else:
            d = run(self._text_to_binary, state.codec, body)
            d.addCallback(lambda request: request if isinstance(request, Reply)
                          else self.dispatcher.handle(request, caller))
        return d.addCallback(lambda reply: self._respond(state, reply))

    def _respond(self, state: _Exchange, reply: Reply) -> Deferred[None]:
        state.reply = reply
        if state.caller is not None:  # ops: audit hook (a refused client was recorded by _refused)
            audit.request_done(getattr(self.dispatcher, "services", None), reply, state.caller,
                               peer=_peer(state.request), transport="https",
                               duration=time.perf_counter() - state.started)
        if state.codec.render is None:
            state.send(reply.data)
            return succeed(None)
        d = self.dispatcher.run_blocking(self._binary_to_text, state.codec, reply)
        return d.addCallback(state.send)

    def _crashed(self, failure: Failure, state: _Exchange) -> None:
        _log.failure("HTTPS request failed unexpectedly", failure)
        if not state.finished:
            state.finish(self._refuse(state.request, state.started, 500, "internal error"))

    # Everything below runs in the operation thread pool. ------------------------------------------

    def _refusal(self, codec: _Codec, body: bytes) -> Reply:
        """The Authentication Not Successful reply, in the request's version if it can be read (blocking)."""
        version = sniff_version(body) if codec.parse is None else _sniff_text_version(body)
        return self.dispatcher.error_reply(version, int(self.dispatcher.seconds()),
                                           ResultReason.AUTHENTICATION_NOT_SUCCESSFUL,
                                           "authentication not successful", close=True)

    def _text_to_binary(self, codec: _Codec, body: bytes) -> bytes | Reply:
        """Decode an XML/JSON request into binary TTLV, or an Invalid Message reply (blocking)."""
        assert codec.parse is not None
        try:
            item = codec.parse(body, max_depth=self.limits.max_depth)
            return encode(item)
        except (DecodeError, ValueError, TypeError, OverflowError, RecursionError) as e:
            return self.dispatcher.error_reply(_sniff_text_version(body), int(self.dispatcher.seconds()),
                                               ResultReason.INVALID_MESSAGE,
                                               f"cannot decode {codec.name.upper()} message: {e}")

    def _binary_to_text(self, codec: _Codec, reply: Reply) -> bytes:
        """Render a binary response in C{codec}'s encoding (blocking)."""
        assert codec.render is not None
        try:
            return codec.render(decode(reply.data)).encode("utf-8")
        except (EncodingError, DecodeError, ValueError) as e:
            _log.error("cannot render a response in {encoding}: {error}", encoding=codec.name, error=str(e))
            version = reply.version or (1, 0)
            fallback = self.dispatcher.error_reply(version, int(self.dispatcher.seconds()),
                                                   ResultReason.GENERAL_FAILURE,
                                                   f"the response cannot be represented in {codec.name.upper()}")
            reply.status = fallback.status
            return codec.render(decode(fallback.data)).encode("utf-8")


class _Exchange:
    """The state of one HTTP request in flight."""

    def __init__(self, request: Any, codec: _Codec, started: float) -> None:
        self.request = request
        self.codec = codec
        self.started = started
        self.caller: Caller | None = None
        self.reply: Reply | None = None
        self.finished = False
        self.close = False

    def gone(self, failure: Failure) -> None:
        """The client went away before the response: nothing will be written."""
        self.finished = True

    def send(self, body: bytes) -> None:
        """Write a 200 KMIP response in the request's encoding and log the request."""
        reply = self.reply
        _log_request(self.request, self.caller, reply, reply.status if reply else "success",
                     self.codec.name, self.started, 200)
        if self.finished:
            return
        request = self.request
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", self.codec.content_type)
        request.setHeader(b"Cache-Control", b"no-cache")
        request.setHeader(b"Content-Length", b"%d" % len(body))
        if self.close:
            request.setHeader(b"Connection", b"close")
            channel = getattr(request, "channel", None)
            if channel is not None:
                channel.persistent = False  # HTTPChannel closes after this response
        self.finish(body)

    def finish(self, body: bytes) -> None:
        self.finished = True
        self.request.write(body)
        self.request.finish()
        channel = getattr(self.request, "channel", None)
        session: Session | None = getattr(channel, "session", None)
        if session is not None:
            session.wrote(len(body), bool(getattr(channel, "_waitingForTransport", False)))


def _peer(request: Any) -> str:
    try:
        return str(request.getClientAddress())
    except Exception:
        return "unknown"


def _log_request(request: Any, caller: Caller | None, reply: Reply | None, status: str,
                 encoding: str | None, started: float, http_status: int) -> None:
    """One structured event per HTTPS request, with the TTLV port's fields plus HTTP ones."""
    _log.info(
        "{client} {operation} -> {result_status} (HTTPS {http_status})",
        client=caller.identity if caller else None,
        operation=",".join(reply.operations) if reply and reply.operations else "none",
        result_status=status,
        version=reply.version if reply else None,
        duration=time.perf_counter() - started,
        correlation=reply.correlation if reply else None,
        client_correlation=reply.client_correlation if reply else None,
        encoding=encoding,
        http_status=http_status,
        peer=_peer(request),
    )


# Transport: body limit before buffering, connection tracking ------------------------------------

_TOO_LARGE = (b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Cache-Control: no-cache\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s")


class KMIPRequest(Request):
    """A request that refuses an oversized body as soon as its size is known (413, then close).

    The body is buffered in memory only (never in a temporary file).
    """

    _rejected = False
    _received = 0

    def _limit(self) -> int | None:
        return getattr(getattr(self.channel, "site", None), "max_body_size", None)

    def gotLength(self, length: int | None) -> None:
        """Refuse an announced oversized body, else buffer the body in memory.

        Twisted's own C{gotLength} spools a body of 100,000 bytes or more (and any chunked body)
        to C{tempfile.TemporaryFile()}, i.e. key material on disk and file I/O on the reactor
        thread; here the body always goes to a L{BytesIO}, bounded by C{max_body_size}.
        """
        limit = self._limit()
        if length is not None and limit is not None and length > limit:
            self._reject(f"request body of {length} bytes exceeds the limit of {limit} bytes")
        self.content = BytesIO()  # type: ignore[assignment]  # Twisted declares content = None

    def handleContentChunk(self, data: bytes) -> None:
        if self._rejected:
            return
        self._received += len(data)
        limit = self._limit()
        if limit is not None and self._received > limit:
            self._reject(f"request body exceeds the limit of {limit} bytes")
            return
        super().handleContentChunk(data)

    def process(self) -> None:
        if not self._rejected:
            super().process()

    def _reject(self, message: str) -> None:
        self._rejected = True
        self.requestHeaders.removeHeader(b"expect")  # no "100 Continue" after the refusal
        _log.info("refusing HTTPS request from {peer}: {message}", peer=_peer(self), message=message,
                  http_status=413)
        body = (message + "\n").encode("utf-8")
        transport = self.channel.transport
        if transport is not None:
            transport.write(_TOO_LARGE % (len(body), body))
            transport.loseConnection()


@implementer(IHandshakeListener)
class KMIPChannel(HTTPChannel):
    """An HTTP/1.x connection with a L{Session}: handshake deadline, caps, identity and budgets.

    A request must arrive in full (request line, headers and body) within the site's
    C{message_timeout} seconds of its first bytes, or the connection is aborted without an answer;
    its bytes meanwhile count against the server's budget for partial requests. Bytes the channel
    buffers while it handles an earlier request (pipelining) do not run the deadline: that wait is
    the server's.
    """

    _over_cap = False  # refused or dropped: ignore its bytes
    _receiving = 0  # bytes of the request being received
    session: Session | None = None

    def __init__(self) -> None:
        super().__init__()
        self._message_deadline = Deadline(self._message_expired)

    def connectionMade(self) -> None:
        super().connectionMade()
        site: Any = self.factory
        counter: ConnectionCounter | None = getattr(site, "connection_counter", None)
        if counter is not None:
            self.session = session = Session(counter, self, peer_host(self.transport), "https",
                                             getattr(site, "identify", None), None, self._clock())
            if not session.open(bool(getattr(site, "tls", False))):
                self._over_cap = True
                transport: Any = self.transport
                transport.abortConnection()
                return
        connections = getattr(site, "connections", None)
        if connections is not None:
            connections.add(self)

    def handshakeCompleted(self) -> None:
        """TLS is up: the connection now counts against C{max_connections} (or is aborted over it)."""
        if self.session is not None and not self._over_cap and not self.session.handshake_done():
            self.session_dropped()

    def session_dropped(self) -> None:
        """The session's limits dropped this connection: abort it and ignore what it sends."""
        self._over_cap = True
        self._message_deadline.cancel()
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def dataReceived(self, data: bytes) -> None:
        if self._over_cap:
            return
        if data and not self._handlingRequest:
            self._message_deadline.start(self._clock(), self._message_timeout())
            if self.session is not None:
                self._receiving += len(data)
                self.session.partial(self._receiving)
                if self._over_cap:
                    return
        super().dataReceived(data)

    def allContentReceived(self) -> None:
        self._message_deadline.cancel()
        if self._receiving and self.session is not None:
            self._receiving = 0
            self.session.partial(0)
        super().allContentReceived()

    def resumeProducing(self) -> None:
        """The transport sent what it held: release this connection's share of the output budget."""
        super().resumeProducing()
        if self.session is not None:
            self.session.drained()

    def _clock(self) -> Any:
        return self.factory.reactor

    def _message_timeout(self) -> float:
        timeout = getattr(self.factory, "message_timeout", None)
        return Limits.message_timeout if timeout is None else float(timeout)

    def _message_expired(self) -> None:
        """A request did not arrive in full in time: close without an answer."""
        _log.info("closing HTTPS connection from {peer}: request not complete within {timeout} seconds",
                  peer=str(self.transport.getPeer()) if self.transport is not None else "unknown",
                  timeout=self._message_timeout())
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._message_deadline.cancel()
        if self.session is not None:
            self.session.lost()
        connections = getattr(self.factory, "connections", None)
        if connections is not None:
            connections.discard(self)
        super().connectionLost(reason)


class KMIPSite(Site):
    """A L{Site} serving L{KMIPResource} at C{/kmip}, bounding request bodies to C{max_body_size}.

    @param message_timeout: seconds a request has to arrive in full once its first bytes arrived.
    @param counter: the L{ConnectionCounter} its connections count against (shared with the TTLV
        port in a service); C{None}: no connection caps or budgets.
    @param tls: the site is wrapped in TLS: connections are pending until their handshake
        finishes (see L{kmipd.session}).
    @param identify: certificate -> Deferred L{Caller}, for the connections' sessions (the
        L{KMIPResource} serving a request sets its own).
    @ivar connection_counter: that counter (C{Site.counter} is Twisted's session counter).
    @ivar connections: the open connections (closed by L{close_connections}).
    """

    # HTTPFactory.protocol's type is inferred from its default (the HTTP/2-negotiating wrapper);
    # buildProtocol takes any protocol factory, and this one serves HTTP/1.x only.
    protocol = KMIPChannel  # type: ignore[assignment]
    requestFactory = KMIPRequest
    displayTracebacks = False

    def __init__(self, resource: Resource, *, max_body_size: int, timeout: float | None = None,
                 reactor: Any = None, message_timeout: float = Limits.message_timeout,
                 counter: ConnectionCounter | None = None, tls: bool = False,
                 identify: Identify | None = None) -> None:
        kwargs: dict[str, Any] = {"reactor": reactor}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            super().__init__(resource, parsePOSTFormSubmission=False, **kwargs)
        except TypeError:  # Twisted < 24.7 has no parsePOSTFormSubmission (forms then get 415 anyway)
            super().__init__(resource, **kwargs)
        self.max_body_size = max_body_size
        self.message_timeout = message_timeout
        self.connection_counter = counter
        self.tls = tls
        self.identify = identify
        self.connections: set[KMIPChannel] = set()

    def acceptableProtocols(self) -> list[bytes]:
        """ALPN: HTTP/1.1 and HTTP/1.0 only (never h2: L{KMIPChannel} speaks HTTP/1.x)."""
        return list(HTTPS_ALPN)

    def close_connections(self) -> None:
        """Close every open connection (the service is stopping)."""
        for channel in list(self.connections):
            if channel.transport is not None:
                channel.transport.loseConnection()


def build_site(dispatcher: Dispatcher, identify: Identify, *, limits: Limits | None = None,
               reactor: Any = None, counter: ConnectionCounter | None = None,
               reidentify_after: float | None = None, tls: bool = False) -> KMIPSite:
    """The HTTPS site of a server: L{KMIPResource} at C{/kmip} (other paths: 404).

    @param counter: the connection caps' counter to share (the TTLV factory's C{counter}); by
        default one of the site's own, for C{limits}.
    @param reidentify_after: see L{KMIPResource}.
    @param tls: the site will be wrapped in TLS (connections count once their handshake is done).
    """
    limits = limits or dispatcher.limits
    if reactor is None:
        reactor = dispatcher.clock
    root = Resource()
    root.putChild(KMIP_PATH, KMIPResource(dispatcher, identify, limits, reidentify_after=reidentify_after,
                                          clock=reactor))
    return KMIPSite(root, max_body_size=limits.max_message_size, timeout=limits.idle_timeout, reactor=reactor,
                    message_timeout=limits.message_timeout,
                    counter=counter if counter is not None else ConnectionCounter(limits), tls=tls,
                    identify=identify)
