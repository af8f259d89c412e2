"""Live interoperability: a real PyKMIP client and real TLS clients against a KMIPService on loopback.

These are the few deliberate real-socket tests: the service listens on 127.0.0.1 with an
ephemeral port, clients run in threads (deferToThread) with bounded socket timeouts, and every
test has a trial timeout.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from kmipd.config import load_config
from kmipd.devcerts import DevPKI
from kmipd.service import KMIPService
from kmipd.spec import Operation, QueryFunction, Tag
from kmipd.testing import batch_item, payload, request, results
from kmipd.ttlv import Item, decode, encode

CLIENT_TIMEOUT = 10.0

QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS))), version=(1, 2)))


def _write_key(path: str, key: Any) -> None:
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path, 0o600)


def make_ca(directory: str, name: str) -> tuple[str, Any, x509.Certificate]:
    """A throwaway CA: returns (cert path, key, cert)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = os.path.join(directory, f"{name}.pem")
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_client(directory: str, name: str, ca_key: Any, ca_cert: x509.Certificate,
                eku: list[x509.ObjectIdentifier] | None) -> tuple[str, str]:
    """A client certificate with CN=C{name} signed by the CA; returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2)))
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path = os.path.join(directory, f"{name}.pem")
    key_path = os.path.join(directory, f"{name}.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return cert_path, key_path


def tls_exchange(port: int, ca: str, cert: str | None, key: str | None, data: bytes = QUERY) -> bytes:
    """Connect with TLS, send C{data}, return one response message (b"" if the server closed). Blocking."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as raw:
        with context.wrap_socket(raw) as tls:
            tls.sendall(data)
            buf = b""
            while len(buf) < 8 or len(buf) < 8 + int.from_bytes(buf[4:8], "big"):
                chunk = tls.recv(65536)
                if not chunk:
                    return b""
                buf += chunk
            return buf


def refused(port: int, ca: str, cert: str | None, key: str | None) -> str:
    """Run one exchange that the server must refuse; return how it was refused ("" if it was not)."""
    try:
        answer = tls_exchange(port, ca, cert, key)
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return type(e).__name__
    if answer == b"":
        return "closed"
    from kmipd.spec import ResultReason, Tag
    from kmipd.ttlv import decode

    reasons = [bi.get(Tag.RESULT_REASON) for bi in decode(answer).findall(Tag.BATCH_ITEM)]
    return "Authentication Not Successful" if reasons == [ResultReason.AUTHENTICATION_NOT_SUCCESSFUL] else ""


def pykmip_client(port: int, cert: str, key: str, ca: str, **kwargs: Any) -> Any:
    """A PyKMIP ProxyKmipClient for 127.0.0.1:C{port} (not yet open), with a bounded socket timeout."""
    from kmip.pie.client import ProxyKmipClient

    client = ProxyKmipClient(hostname="127.0.0.1", port=port, cert=cert, key=key, ca=ca,
                             config_file="/dev/null", **kwargs)
    client.proxy.timeout = int(CLIENT_TIMEOUT)
    return client


def run_connected(make: Callable[[], Any], work: Callable[[Any], Any]) -> defer.Deferred:
    """In a thread: open the client C{make()} returns, run C{work(client)}, close it."""
    def blocking() -> Any:
        client = make()
        client.open()
        try:
            return work(client)
        finally:
            client.close()

    return deferToThread(blocking)


class LiveServiceMixin:
    """Start a KMIPService on an ephemeral loopback port with a fresh data directory."""

    @defer.inlineCallbacks
    def start(self, **overrides: Any):  # type: ignore[no-untyped-def]
        self.data = os.path.abspath(self.mktemp())  # type: ignore[attr-defined]
        overrides.setdefault("listen", ("tcp:0:interface=127.0.0.1",))
        config = load_config(None, {"data_dir": self.data, **overrides})
        service = KMIPService(config)
        service.startService()
        self.addCleanup(service.stopService)  # type: ignore[attr-defined]
        self.service = service
        self.port = service.ports[0].getHost().port
        self.pki = os.path.join(self.data, "pki")
        self.dev_pki = DevPKI.in_directory(self.pki)
        yield None


class PyKMIPInteropTests(LiveServiceMixin, TestCase):
    """The PyKMIP client (KMIP 1.2 over TLS, as shipped) runs DiscoverVersions and Query."""

    timeout = 60

    def proxy(self) -> Any:
        from kmip.services.kmip_client import KMIPProxy

        pki = self.dev_pki
        return KMIPProxy(host="127.0.0.1", port=self.port, certfile=pki.client_cert, keyfile=pki.client_key,
                         ca_certs=pki.ca_cert, config_file="/dev/null", timeout=CLIENT_TIMEOUT)

    def run_client(self, work: Any) -> defer.Deferred:
        return run_connected(self.proxy, work)

    @defer.inlineCallbacks
    def test_discover_versions(self):  # type: ignore[no-untyped-def]
        """PyKMIP's DiscoverVersions succeeds and lists kmipd's versions, 2.1 first."""
        yield self.start()
        from kmip.core.enums import ResultStatus

        result = yield self.run_client(lambda p: p.discover_versions())
        self.assertEqual(result.result_status.value, ResultStatus.SUCCESS)
        versions = [(v.major, v.minor) for v in result.protocol_versions]
        self.assertEqual(versions[0], (2, 1))
        self.assertIn((1, 2), versions)
        self.assertIn((1, 0), versions)

    @defer.inlineCallbacks
    def test_discover_versions_offered(self):  # type: ignore[no-untyped-def]
        """PyKMIP's DiscoverVersions with offered versions gets the common ones back."""
        yield self.start()
        from kmip.core.messages.contents import ProtocolVersion

        offered = [ProtocolVersion(1, 4), ProtocolVersion(1, 2), ProtocolVersion(9, 9)]
        result = yield self.run_client(lambda p: p.discover_versions(protocol_versions=offered))
        self.assertEqual([(v.major, v.minor) for v in result.protocol_versions], [(1, 4), (1, 2)])

    @defer.inlineCallbacks
    def test_query(self):  # type: ignore[no-untyped-def]
        """PyKMIP's Query gets operations, object types and the vendor identification."""
        yield self.start()
        from kmip.core.enums import Operation as POperation
        from kmip.core.enums import QueryFunction as PQueryFunction
        from kmip.core.enums import ResultStatus

        functions = [PQueryFunction.QUERY_OPERATIONS, PQueryFunction.QUERY_OBJECTS,
                     PQueryFunction.QUERY_SERVER_INFORMATION]
        result = yield self.run_client(lambda p: p.query(query_functions=functions))
        self.assertEqual(result.result_status.value, ResultStatus.SUCCESS)
        ops = [getattr(o, "value", o) for o in result.operations]
        self.assertIn(POperation.QUERY.value, ops)
        self.assertIn(POperation.DISCOVER_VERSIONS.value, ops)
        self.assertTrue(result.object_types)
        self.assertEqual(getattr(result.vendor_identification, "value", result.vendor_identification), "kmipd")

    @defer.inlineCallbacks
    def test_several_requests_one_connection(self):  # type: ignore[no-untyped-def]
        """Several requests on one PyKMIP connection are all answered."""
        yield self.start()

        from kmip.core.enums import QueryFunction as PQueryFunction
        from kmip.core.enums import ResultStatus

        def work(p: Any) -> list[Any]:
            return [p.discover_versions(), p.query(query_functions=[PQueryFunction.QUERY_SERVER_INFORMATION]),
                    p.discover_versions()]

        answers = yield self.run_client(work)
        self.assertEqual([a.result_status.value for a in answers], [ResultStatus.SUCCESS] * 3)


class TLSRejectionTests(LiveServiceMixin, TestCase):
    """TLS handshake accept/reject cases through the service."""

    timeout = 60

    def dev(self) -> tuple[str, str, str]:
        return self.dev_pki.ca_cert, self.dev_pki.client_cert, self.dev_pki.client_key

    def dev_ca_client(self, name: str, eku: list[x509.ObjectIdentifier] | None) -> tuple[str, str]:
        with open(self.dev_pki.ca_key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(self.dev_pki.ca_cert, "rb") as f:
            ca_cert = x509.load_pem_x509_certificate(f.read())
        return make_client(self.data, name, ca_key, ca_cert, eku)

    @defer.inlineCallbacks
    def test_dev_client_accepted(self):  # type: ignore[no-untyped-def]
        """The dev client certificate gets a KMIP response over TLS."""
        yield self.start()
        ca, cert, key = self.dev()
        answer = yield deferToThread(tls_exchange, self.port, ca, cert, key)
        self.assertTrue(results(decode(answer))[0].ok)

    @defer.inlineCallbacks
    def test_no_client_certificate(self):  # type: ignore[no-untyped-def]
        """A client without a certificate is refused."""
        yield self.start()
        ca, _, _ = self.dev()
        how = yield deferToThread(refused, self.port, ca, None, None)
        self.assertTrue(how, "the server answered a client without a certificate")

    @defer.inlineCallbacks
    def test_wrong_ca(self):  # type: ignore[no-untyped-def]
        """A client certificate from another CA is refused."""
        yield self.start()
        ca, _, _ = self.dev()
        _, other_key, other_cert = make_ca(self.data, "other-ca")
        cert, key = make_client(self.data, "mallory", other_key, other_cert, [ExtendedKeyUsageOID.CLIENT_AUTH])
        how = yield deferToThread(refused, self.port, ca, cert, key)
        self.assertTrue(how, "the server answered a client certificate from a foreign CA")

    @defer.inlineCallbacks
    def test_missing_client_auth_eku_refused(self):  # type: ignore[no-untyped-def]
        """With enable_tls_client_auth=True a certificate without clientAuth EKU is closed."""
        yield self.start(enable_tls_client_auth=True)
        ca, _, _ = self.dev()
        for name, eku in (("no-eku", None), ("server-eku", [ExtendedKeyUsageOID.SERVER_AUTH])):
            cert, key = self.dev_ca_client(name, eku)
            how = yield deferToThread(refused, self.port, ca, cert, key)
            self.assertTrue(how, f"{name} was answered")

    @defer.inlineCallbacks
    def test_missing_client_auth_eku_accepted(self):  # type: ignore[no-untyped-def]
        """With enable_tls_client_auth=False a certificate without clientAuth EKU is served."""
        yield self.start(enable_tls_client_auth=False)
        ca, _, _ = self.dev()
        cert, key = self.dev_ca_client("no-eku", None)
        answer = yield deferToThread(tls_exchange, self.port, ca, cert, key)
        self.assertTrue(results(decode(answer))[0].ok)
