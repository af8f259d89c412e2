"""
Tests for L{kmipd.tls}: cipher names, server options, client identity, and a
few deliberate real-socket loopback handshakes.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

from kmipd.config import Config, ConfigError, load_config
from kmipd.devcerts import ensure_dev_pki
from kmipd.tls import (
    DEFAULT_CIPHERS,
    IANA_TO_OPENSSL,
    TLS13_SUITES,
    IdentityError,
    ServerTLSFactory,
    ServerTLSTransport,
    build_server_tls_options,
    identity_from_certificate,
    openssl_cipher_list,
    release_bio_buffers,
    wrap_factory,
)

# PyKMIP's TLS 1.2 client cipher list (kmip/services/auth.py
# TLS12AuthenticationSuite), so the interop check needs no PyKMIP import.
PYKMIP_TLS12_CIPHERS = (
    "AES128-SHA256:AES256-SHA256:DH-DSS-AES256-SHA256:DH-DSS-AES128-SHA256:"
    "DH-RSA-AES128-SHA256:DHE-DSS-AES128-SHA256:DHE-RSA-AES128-SHA256:"
    "DH-DSS-AES256-SHA256:DH-RSA-AES256-SHA256:DHE-DSS-AES256-SHA256:"
    "DHE-RSA-AES256-SHA256:ECDH-ECDSA-AES128-SHA256:ECDH-ECDSA-AES256-SHA256:"
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDH-RSA-AES128-SHA256:"
    "ECDH-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
)


def _make_cert(
    cn: str | None = "alice",
    eku: list[x509.ObjectIdentifier] | None = None,
    extra_cn: str | None = None,
) -> x509.Certificate:
    """A self-signed certificate with the given subject CN(s) and EKU."""
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kmipd tests")]
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if extra_cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, extra_cn))
    name = x509.Name(attrs)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(key, hashes.SHA256())


class CipherTests(SynchronousTestCase):
    """IANA -> OpenSSL cipher names."""

    def test_pykmip_names_covered(self) -> None:
        """Every TLS 1.2 name in PyKMIP's documented sample and suite map is known."""
        for name in (
            "TLS_RSA_WITH_AES_128_CBC_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        ):
            self.assertIn(name, IANA_TO_OPENSSL)
        try:
            from kmip.services.auth import AuthenticationSuite
        except ImportError:
            return
        missing = set(AuthenticationSuite.openssl_cipher_suite_map) - set(
            IANA_TO_OPENSSL
        )
        self.assertEqual(missing, set())

    def test_mapping(self) -> None:
        """IANA names map to OpenSSL names, OpenSSL names pass, TLS 1.3 names drop out."""
        self.assertEqual(
            openssl_cipher_list(
                [
                    "TLS_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "ECDHE-RSA-AES128-GCM-SHA256",
                    "AES128-SHA256",
                ]
            ),
            (
                "AES128-SHA256",
                "ECDHE-RSA-CHACHA20-POLY1305",
                "ECDHE-RSA-AES128-GCM-SHA256",
            ),
        )
        for name in TLS13_SUITES:
            self.assertEqual(openssl_cipher_list([name]), ())

    def test_default(self) -> None:
        """The default list has ECDHE AES-GCM for RSA and ECDSA, CHACHA20 and AES-CBC-SHA256."""
        default = openssl_cipher_list([])
        self.assertEqual(default, DEFAULT_CIPHERS)
        for name in (
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-RSA-CHACHA20-POLY1305",
            "AES128-SHA256",
            "AES256-SHA256",
        ):
            self.assertIn(name, default)
        self.assertIn("AES128-SHA", openssl_cipher_list([], "Basic"))
        self.assertNotIn("AES128-SHA", default)

    def test_unknown(self) -> None:
        """An unknown name is a ConfigError naming the key and the name."""
        error = self.assertRaises(
            ConfigError, openssl_cipher_list, ["TLS_RSA_WITH_ROT13"]
        )
        self.assertEqual(
            str(error),
            "[server] tls_cipher_suites: unknown cipher suite 'TLS_RSA_WITH_ROT13'",
        )


class OptionsTests(SynchronousTestCase):
    """build_server_tls_options loading and validation."""

    def setUp(self) -> None:
        self.pki = ensure_dev_pki(self.mktemp())

    def config(self, **overrides: Any) -> Config:
        """A configuration using the test PKI, with C{overrides}."""
        values: dict[str, Any] = {
            "certificate_path": self.pki.server_cert,
            "key_path": self.pki.server_key,
            "ca_path": self.pki.ca_cert,
            "data_dir": self.pki.directory,
        }
        values.update(overrides)
        return load_config(overrides=values)

    def test_builds(self) -> None:
        """Valid files give options that require a verified client certificate, TLS >= 1.2."""
        options = build_server_tls_options(self.config())
        self.assertTrue(options.verify)
        self.assertTrue(options.requireCertificate)
        context = options.getContext()
        self.assertTrue(context.get_verify_mode() & SSL.VERIFY_FAIL_IF_NO_PEER_CERT)

    def test_unconfigured_is_an_error(self) -> None:
        """Without certificate paths no options are built (the service fills in the development PKI
        first) and no PKI is generated here."""
        data_dir = self.mktemp()
        error = self.assertRaises(ConfigError, build_server_tls_options, load_config(overrides={"data_dir": data_dir}))
        self.assertEqual(error.key, "certificate_path")
        self.assertFalse(os.path.exists(os.path.join(data_dir, "pki")))

    def test_key_mismatch(self) -> None:
        """A key that does not match the certificate is a ConfigError naming key_path."""
        error = self.assertRaises(
            ConfigError,
            build_server_tls_options,
            self.config(key_path=self.pki.client_key),
        )
        self.assertTrue(str(error).startswith("[server] key_path: "), str(error))
        self.assertIn("does not match", str(error))

    def test_unreadable_files(self) -> None:
        """Missing or non-PEM files are ConfigErrors naming the key."""
        missing = os.path.join(self.pki.directory, "nope.pem")
        for key in ("certificate_path", "key_path", "ca_path"):
            error = self.assertRaises(
                ConfigError, build_server_tls_options, self.config(**{key: missing})
            )
            self.assertTrue(
                str(error).startswith(f"[server] {key}: cannot read"), str(error)
            )
        garbage = self.mktemp()
        with open(garbage, "w") as f:
            f.write("hello\n")
        for key, text in (
            ("certificate_path", "holds no PEM certificate"),
            ("key_path", "holds no usable PEM private key"),
            ("ca_path", "holds no PEM certificate"),
        ):
            error = self.assertRaises(
                ConfigError, build_server_tls_options, self.config(**{key: garbage})
            )
            self.assertTrue(str(error).startswith(f"[server] {key}: "), str(error))
            self.assertIn(text, str(error))

    def test_encrypted_key(self) -> None:
        """An encrypted private key is a ConfigError naming key_path."""
        with open(self.pki.server_key, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(b"pw"),
                )
            )
        error = self.assertRaises(
            ConfigError, build_server_tls_options, self.config(key_path=path)
        )
        self.assertIn("[server] key_path: ", str(error))
        self.assertIn("encrypted", str(error))

    def test_unavailable_ciphers(self) -> None:
        """Suites this OpenSSL lacks (static DH) give a ConfigError naming tls_cipher_suites."""
        error = self.assertRaises(
            ConfigError,
            build_server_tls_options,
            self.config(tls_cipher_suites="TLS_DH_DSS_WITH_AES_128_CBC_SHA256"),
        )
        self.assertTrue(
            str(error).startswith("[server] tls_cipher_suites: "), str(error)
        )

    def test_unknown_cipher_in_config(self) -> None:
        """An unknown suite smuggled into a Config is still rejected by name."""
        config = self.config()
        bad = Config(**{**config.__dict__, "tls_cipher_suites": ("NOPE",)})
        error = self.assertRaises(ConfigError, build_server_tls_options, bad)
        self.assertEqual(
            str(error), "[server] tls_cipher_suites: unknown cipher suite 'NOPE'"
        )


class IdentityTests(SynchronousTestCase):
    """identity_from_certificate."""

    def test_common_name(self) -> None:
        """The subject CN of a pyOpenSSL certificate is the identity."""
        cert = crypto.X509.from_cryptography(_make_cert("alice"))
        self.assertEqual(identity_from_certificate(cert, False), "alice")

    def test_no_common_name(self) -> None:
        """A subject without CN has no identity."""
        self.assertRaises(
            IdentityError, identity_from_certificate, _make_cert(None), False
        )

    def test_several_common_names(self) -> None:
        """Several CNs are ambiguous and rejected, as PyKMIP does."""
        self.assertRaises(
            IdentityError,
            identity_from_certificate,
            _make_cert("a", extra_cn="b"),
            False,
        )

    def test_eku_client_auth_present(self) -> None:
        """With the clientAuth EKU the identity is returned whether or not it is required."""
        cert = _make_cert("bob", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
        self.assertEqual(identity_from_certificate(cert, True), "bob")
        self.assertEqual(identity_from_certificate(cert, False), "bob")

    def test_eku_absent(self) -> None:
        """Without an EKU extension the identity needs enable_tls_client_auth off."""
        cert = _make_cert("carol")
        error = self.assertRaises(IdentityError, identity_from_certificate, cert, True)
        self.assertIn("Extended Key Usage", str(error))
        self.assertEqual(identity_from_certificate(cert, False), "carol")

    def test_eku_without_client_auth(self) -> None:
        """An EKU lacking clientAuth is rejected when required, accepted otherwise."""
        cert = _make_cert("dave", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
        self.assertRaises(IdentityError, identity_from_certificate, cert, True)
        self.assertEqual(identity_from_certificate(cert, False), "dave")

    def test_no_certificate(self) -> None:
        """No peer certificate is an IdentityError, not a crash."""
        self.assertRaises(IdentityError, identity_from_certificate, None, False)


@implementer(IHandshakeListener)
class _Echo(Protocol):
    """Echo bytes back; record the client identity after the handshake."""

    identity: str | None = None

    def connectionMade(self) -> None:
        self.lost: defer.Deferred[None] = defer.Deferred()
        self.factory.protocols.append(self)  # type: ignore[attr-defined]

    def handshakeCompleted(self) -> None:
        cert = self.transport.getPeerCertificate()  # type: ignore[union-attr]
        self.identity = identity_from_certificate(cert, True)

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.callback(None)


def _client(
    port: int,
    ca: str,
    cert: str | None = None,
    key: str | None = None,
    *,
    hostname: str | None = "localhost",
    version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> tuple[str, Any]:
    """
    Connect with Python's ssl module, send b"ping", and read the echo.

    Returns ("ok", (echo, tls_version, cipher)) or ("error", message).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if hostname is None:
        ctx.check_hostname = False
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            tls.sendall(b"ping")
            data = b""
            while len(data) < 4:
                chunk = tls.recv(4 - len(data))
                if not chunk:
                    break
                data += chunk
            if data != b"ping":
                return ("error", f"echo was {data!r}")
            return ("ok", (data, tls.version(), tls.cipher()[0]))
    except (OSError, ssl.SSLError) as e:
        return ("error", str(e))


class LoopbackTests(TestCase):
    """Real TLS over loopback (deliberately few)."""

    timeout = 30

    @defer.inlineCallbacks
    def setUp(self):  # type: ignore[no-untyped-def]
        self.pki = ensure_dev_pki(self.mktemp())
        config = load_config(
            overrides={
                "certificate_path": self.pki.server_cert,
                "key_path": self.pki.server_key,
                "ca_path": self.pki.ca_cert,
                "data_dir": self.pki.directory,
            }
        )
        self.factory = Factory.forProtocol(_Echo)
        self.factory.protocols = []  # type: ignore[attr-defined]
        endpoint = serverFromString(reactor, "tcp:0:interface=127.0.0.1")
        self.port = yield endpoint.listen(
            wrap_factory(self.factory, build_server_tls_options(config))
        )
        self.addCleanup(self._close)

    @defer.inlineCallbacks
    def _close(self):  # type: ignore[no-untyped-def]
        yield self.port.stopListening()
        for proto in self.factory.protocols:
            if not proto.lost.called:
                proto.transport.abortConnection()
        yield defer.gatherResults([p.lost for p in self.factory.protocols])

    def connect(self, **kwargs: Any) -> defer.Deferred:
        """Run L{_client} against the server in a thread."""
        kwargs.setdefault("ca", self.pki.ca_cert)
        return deferToThread(_client, self.port.getHost().port, **kwargs)

    @defer.inlineCallbacks
    def test_dev_client_tls13(self):  # type: ignore[no-untyped-def]
        """The dev client certificate completes a TLS 1.3 handshake; echo works; CN is the identity."""
        status, detail = yield self.connect(
            cert=self.pki.client_cert, key=self.pki.client_key
        )
        self.assertEqual(status, "ok", detail)
        self.assertEqual(detail[:2], (b"ping", "TLSv1.3"))
        self.assertEqual([p.identity for p in self.factory.protocols], ["kmipd-client"])

    @defer.inlineCallbacks
    def test_pykmip_style_client_tls12(self):  # type: ignore[no-untyped-def]
        """A TLS 1.2 client with PyKMIP's cipher list and no SNI connects."""
        status, detail = yield self.connect(
            cert=self.pki.client_cert,
            key=self.pki.client_key,
            hostname=None,
            version=ssl.TLSVersion.TLSv1_2,
            ciphers=PYKMIP_TLS12_CIPHERS,
        )
        self.assertEqual(status, "ok", detail)
        self.assertEqual(detail[1], "TLSv1.2")

    @defer.inlineCallbacks
    def test_no_client_certificate(self):  # type: ignore[no-untyped-def]
        """A client without a certificate is refused."""
        status, detail = yield self.connect()
        self.assertEqual(status, "error")
        self.assertIn("ALERT", detail.upper())
        self.assertEqual([p.identity for p in self.factory.protocols], [None])

    @defer.inlineCallbacks
    def test_foreign_ca_client_certificate(self):  # type: ignore[no-untyped-def]
        """A client certificate from another CA is refused."""
        other = ensure_dev_pki(self.mktemp())
        status, detail = yield self.connect(
            cert=other.client_cert, key=other.client_key
        )
        self.assertEqual(status, "error")
        self.assertIn("UNKNOWN_CA", detail.upper())
        self.assertEqual([p.identity for p in self.factory.protocols], [None])

    @defer.inlineCallbacks
    def test_tls11_client(self):  # type: ignore[no-untyped-def]
        """A TLS 1.1-only client is refused even with a valid certificate."""
        status, detail = yield self.connect(
            cert=self.pki.client_cert,
            key=self.pki.client_key,
            version=ssl.TLSVersion.TLSv1_1,
            ciphers="DEFAULT:@SECLEVEL=0",
        )
        self.assertEqual(status, "error")
        self.assertIn("PROTOCOL_VERSION", detail.upper())
        self.assertEqual([p.identity for p in self.factory.protocols], [None])

    def echo(self, payload: bytes) -> defer.Deferred:
        """Send C{payload} through a real TLS client in a thread; fires with what came back."""
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        ctx.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        ctx.check_hostname = False
        port = self.port.getHost().port

        def client() -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
                tls.sendall(payload)
                data = b""
                while len(data) < len(payload):
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data

        return deferToThread(client)

    @defer.inlineCallbacks
    def test_released_after_handshake_and_large_chunks(self):  # type: ignore[no-untyped-def]
        """After the handshake, and after a chunk larger than 4 KB, the drained BIOs are replaced;
        a 200 KB echo arrives intact across those replacements."""
        payload = os.urandom(200_000)
        echoed = yield self.echo(payload)
        self.assertEqual(echoed, payload)
        (proto,) = self.factory.protocols
        transport = proto.transport
        self.assertIsInstance(transport, ServerTLSTransport)
        self.assertFalse(transport._grown, "the last large chunk's buffers were released")

    @defer.inlineCallbacks
    def test_missing_binding_symbol(self):  # type: ignore[no-untyped-def]
        """A binding symbol gone at run time: the first release turns the feature off (one warning),
        the connection carries a 200 KB echo intact, and no BIO is replaced."""
        import kmipd.tls as tls

        self.patch(tls, "_BIO_RELEASE_SAFE", True)
        self.patch(tls, "_openssl_lib", _Without(tls._openssl_lib, "BIO_get_mem_data"))
        warnings: list[dict[str, Any]] = []
        self.patch(tls._log, "observer", warnings.append)
        payload = os.urandom(200_000)
        echoed = yield self.echo(payload)
        self.assertEqual(echoed, payload)
        (proto,) = self.factory.protocols
        self.assertTrue(proto.transport._grown, "nothing was released")
        self.assertFalse(tls._BIO_RELEASE_SAFE)
        disabled = [e for e in warnings if "BIO release disabled" in e.get("log_format", "")]
        self.assertEqual(len(disabled), 1)
        self.assertIn("BIO_get_mem_data", disabled[0]["reason"])

    @defer.inlineCallbacks
    def test_release_error_keeps_connection(self):  # type: ignore[no-untyped-def]
        """Whatever the release raises (a private attribute renamed), the transport's
        dataReceived and _write carry on: the echo arrives intact and the release is off."""
        import kmipd.tls as tls

        self.patch(tls, "_BIO_RELEASE_SAFE", True)
        calls: list[object] = []

        def broken(connection: object) -> bool:
            calls.append(connection)
            raise AttributeError("'Connection' object has no attribute '_into_ssl'")

        self.patch(tls, "release_bio_buffers", broken)
        payload = os.urandom(50_000)
        echoed = yield self.echo(payload)
        self.assertEqual(echoed, payload)
        self.assertEqual(len(calls), 1, "off after the first error")
        self.assertFalse(tls._BIO_RELEASE_SAFE)
        (proto,) = self.factory.protocols
        self.assertTrue(proto.transport._grown)


class _Without:
    """C{target} with C{name} patched away (as a release without that symbol would be)."""

    def __init__(self, target: Any, name: str) -> None:
        self._target = target
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr == self._name:
            raise AttributeError(attr)
        return getattr(self._target, attr)


def _pump(a: SSL.Connection, b: SSL.Connection) -> None:
    """Move bytes between two memory-BIO connections until neither has any to send."""
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            try:
                data = src.bio_read(65536)
            except SSL.WantReadError:
                continue
            if data:
                dst.bio_write(data)
                moved = True


def _dev_config_and_client(case: Any) -> tuple[Any, SSL.Connection]:
    """A kmipd configuration on a fresh development PKI, and a pyOpenSSL client (connect state,
    memory BIOs) holding that PKI's client certificate."""
    pki = ensure_dev_pki(case.mktemp())
    config = load_config(overrides={"certificate_path": pki.server_cert, "key_path": pki.server_key,
                                    "ca_path": pki.ca_cert, "data_dir": pki.directory})
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.use_certificate_file(pki.client_cert)
    ctx.use_privatekey_file(pki.client_key)
    ctx.load_verify_locations(pki.ca_cert)
    client = SSL.Connection(ctx, None)
    client.set_connect_state()
    return config, client


def _step(conn: SSL.Connection) -> None:
    try:
        conn.do_handshake()
    except SSL.WantReadError:
        pass


class ReleaseBuffersTests(SynchronousTestCase):
    """release_bio_buffers: fresh memory BIOs once drained, never losing a byte."""

    def setUp(self) -> None:
        config, self.client = _dev_config_and_client(self)
        self.server = SSL.Connection(build_server_tls_options(config).getContext(), None)
        self.server.set_accept_state()
        for _ in range(6):
            _step(self.client)
            _step(self.server)
            _pump(self.client, self.server)

    def exchange(self, size: int) -> None:
        self.client.sendall(b"c" * size)
        _pump(self.client, self.server)
        got = b""
        while len(got) < size:
            got += self.server.recv(65536)
        self.assertEqual(got, b"c" * size)
        self.server.sendall(b"s" * size)
        _pump(self.client, self.server)
        got = b""
        while len(got) < size:
            got += self.client.recv(65536)
        self.assertEqual(got, b"s" * size)

    def test_release_after_handshake(self) -> None:
        """After the handshake both BIOs are drained: they are replaced and the connection still works."""
        self.assertIsNotNone(self.server.get_peer_certificate())
        before = (self.server._into_ssl, self.server._from_ssl)  # type: ignore[attr-defined]
        self.assertTrue(release_bio_buffers(self.server))
        self.assertNotEqual((self.server._into_ssl, self.server._from_ssl), before)  # type: ignore[attr-defined]
        self.exchange(100)
        self.assertTrue(release_bio_buffers(self.server))
        self.exchange(70_000)

    def test_not_released_while_input_pending(self) -> None:
        """Bytes received but not read yet keep the BIOs: they are read afterwards."""
        self.client.sendall(b"hello")
        self.server.bio_write(self.client.bio_read(65536))
        self.assertFalse(release_bio_buffers(self.server))
        self.assertEqual(self.server.recv(100), b"hello")

    def test_not_released_while_output_pending(self) -> None:
        """Bytes written but not sent yet keep the BIOs: they are sent afterwards."""
        self.server.sendall(b"hello")
        self.assertFalse(release_bio_buffers(self.server))
        _pump(self.client, self.server)
        self.assertEqual(self.client.recv(100), b"hello")



class ReleaseBuffersGateTests(SynchronousTestCase):
    """release_bio_buffers touches pyOpenSSL internals only in releases whose internals were checked."""

    def test_known_releases(self) -> None:
        from kmipd.tls import _bio_release_safe

        for version in ("23.2.0", "24.1.0", "26.4.0"):
            self.assertTrue(_bio_release_safe(version), version)
        for version in ("23.1.1", "27.0.0", "30.1", "garbage", ""):
            self.assertFalse(_bio_release_safe(version), version)

    def test_unknown_release_keeps_buffers(self) -> None:
        """With an unchecked pyOpenSSL nothing is replaced (and nothing can be freed twice)."""
        import kmipd.tls as tls

        self.patch(tls, "_BIO_RELEASE_SAFE", False)
        conn = SSL.Connection(SSL.Context(SSL.TLS_SERVER_METHOD), None)
        before = (conn._into_ssl, conn._from_ssl)  # type: ignore[attr-defined]
        self.assertFalse(tls.release_bio_buffers(conn))
        self.assertEqual((conn._into_ssl, conn._from_ssl), before)  # type: ignore[attr-defined]

    def test_import_time_check(self) -> None:
        """The release is on only if every private name it uses is there: each one missing is named."""
        from OpenSSL._util import ffi, lib
        from twisted.protocols.tls import BufferingTLSTransport

        from kmipd.tls import _missing_internals

        self.assertEqual(_missing_internals(lib, ffi, BufferingTLSTransport), [])
        self.assertEqual(_missing_internals(None, ffi, BufferingTLSTransport), ["OpenSSL._util"])
        for symbol in ("BIO_get_mem_data", "BIO_new", "BIO_s_mem", "SSL_set_bio"):
            self.assertEqual(_missing_internals(_Without(lib, symbol), ffi, BufferingTLSTransport), [symbol])

        class Bare:  # a Twisted transport without the private attributes
            pass

        self.assertEqual(_missing_internals(lib, ffi, Bare),
                         ["Bare._write", "Bare._handshakeDone", "Bare._lostTLSConnection"])

        class Connection(SSL.Connection):
            _socket = None

            def __init__(self, context: Any, sock: Any) -> None:
                pass  # a pyOpenSSL that keeps its BIOs elsewhere

        self.patch(SSL, "Connection", Connection)
        self.assertEqual(_missing_internals(lib, ffi, BufferingTLSTransport),
                         ["Connection._into_ssl", "Connection._from_ssl", "Connection._ssl"])


class _Replier(Protocol):
    """Answers each chunk in one write, C{b"re:" + data}; after C{b"bye"} it also closes."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"re:" + data)  # type: ignore[union-attr]
        if data == b"bye":
            self.transport.loseConnection()  # type: ignore[union-attr]


class _MemoryTLS:
    """A L{ServerTLSFactory} connection on a StringTransport (its write-coalescing timer on a
    fake clock) and a pyOpenSSL client on memory BIOs talking to it."""

    def __init__(self, case: SynchronousTestCase, factory: Any) -> None:
        config, self.client = _dev_config_and_client(case)
        self.clock = Clock()
        tls_factory = ServerTLSFactory(build_server_tls_options(config), False, factory, self.clock)
        self.server = tls_factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        self.tcp = StringTransport()
        self.server.makeConnection(self.tcp)
        for _ in range(6):
            _step(self.client)
            self.to_server()
            self.to_client()
        case.assertTrue(self.server._handshakeDone)
        self.recv()  # TLS 1.3 session tickets

    def to_server(self) -> None:
        try:
            data = self.client.bio_read(1 << 20)
        except SSL.WantReadError:
            return
        self.server.dataReceived(data)

    def to_client(self) -> None:
        data = self.tcp.value()
        self.tcp.clear()
        if data:
            self.client.bio_write(data)

    def recv(self) -> bytes:
        """What the client can read now (C{b"<closed>"} appended at a TLS close alert)."""
        self.to_client()
        got = b""
        while True:
            try:
                got += self.client.recv(1 << 20)
            except SSL.WantReadError:
                return got
            except SSL.ZeroReturnError:
                return got + b"<closed>"


class LoseConnectionTests(SynchronousTestCase):
    """Closing right after a write: the reply is delivered before the close."""

    def test_write_then_lose_connection(self) -> None:
        """Bytes written before loseConnection reach the client, then the TLS close alert; TCP
        closes once the client's alert comes back."""
        tls = _MemoryTLS(self, Factory.forProtocol(_Replier))
        tls.client.sendall(b"bye")
        tls.to_server()
        self.assertEqual(tls.recv(), b"re:bye<closed>")
        self.assertFalse(tls.tcp.disconnecting, "waiting for the client's close alert")
        tls.client.shutdown()
        tls.to_server()
        self.assertTrue(tls.tcp.disconnecting)
