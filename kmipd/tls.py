# -*- test-case-name: tests.test_tls -*-
"""
Mutual TLS for kmipd: server options from the configuration, factory wrapping
and the client identity taken from the peer certificate.

Twisted's C{ssl:} endpoint cannot require client certificates, so kmipd
listens on plain endpoints and wraps its factory in L{TLSMemoryBIOFactory}
with L{CertificateOptions} whose C{trustRoot} is the configured CA.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from OpenSSL.version import __version__ as _pyopenssl_version_string
from twisted.internet.interfaces import IProtocolFactory
from twisted.internet.ssl import (
    AcceptableCiphers,
    Certificate,
    CertificateOptions,
    TLSVersion,
    trustRootFromCertificates,
)
from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOFactory

from kmipd.auth.identify import IdentityError, identity_from_certificate
from kmipd.ciphersuites import IANA_TO_OPENSSL, OPENSSL_NAMES, TLS13_SUITES
from kmipd.config import Config, ConfigError
from kmipd.log import Logger
from kmipd.tls_tickets import TicketKeys, install_ticket_keys, session_id_context, ticket_secret

try:  # the bindings pyOpenSSL itself uses (release_bio_buffers); private: checked below
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _openssl_lib
except ImportError:  # pragma: no cover - a pyOpenSSL without them keeps its buffers
    _ffi = _openssl_lib = None

__all__ = [
    "DEFAULT_CIPHERS",
    "HTTPS_ALPN",
    "IANA_TO_OPENSSL",
    "TLS13_SUITES",
    "IdentityError",
    "ServerTLSOptions",
    "build_https_tls_options",
    "build_server_tls_options",
    "identity_from_certificate",
    "openssl_cipher_list",
    "release_bio_buffers",
    "wrap_factory",
]

_log = Logger()

#: The TLS 1.2 default: forward-secret AEAD first, then the AES-CBC-SHA256
#: suites the KMIP TLS 1.2 authentication suite (and PyKMIP's client) use.
DEFAULT_CIPHERS: tuple[str, ...] = (
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-SHA256",
    "AES128-SHA256",
)

#: Added to the default for auth_suite=Basic (the KMIP Basic suite's ciphers;
#: the protocol minimum stays TLS 1.2).
_BASIC_EXTRA_CIPHERS: tuple[str, ...] = ("AES128-SHA", "AES256-SHA")

_KEY = "[server] tls_cipher_suites"


def openssl_cipher_list(
    names: Iterable[str], auth_suite: str = "TLS1.2"
) -> tuple[str, ...]:
    """
    Translate configured suite names to OpenSSL TLS 1.2 cipher names.

    TLS 1.3 names are accepted and dropped (OpenSSL always enables them). An
    empty C{names} gives the default list.

    @raise ConfigError: for an unknown name.
    """
    names = tuple(names)
    if not names:
        extra = _BASIC_EXTRA_CIPHERS if auth_suite == "Basic" else ()
        return DEFAULT_CIPHERS + extra
    result: list[str] = []
    for name in names:
        if name in IANA_TO_OPENSSL:
            openssl = IANA_TO_OPENSSL[name]
        elif name in OPENSSL_NAMES:
            openssl = name
        else:
            raise ConfigError(
                f"{_KEY}: unknown cipher suite {name!r}", key="tls_cipher_suites"
            )
        if openssl not in TLS13_SUITES and openssl not in result:
            result.append(openssl)
    return tuple(result)


def _read(path: str, key: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(
            f"[server] {key}: cannot read {path!r}: {e.strerror or e}", key=key
        ) from None


def _load_certificates(path: str, key: str) -> list[x509.Certificate]:
    data = _read(path, key)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise ConfigError(f"[server] {key}: {path!r} holds no PEM certificate", key=key)
    return certs


def _load_private_key(path: str) -> Any:
    data = _read(path, "key_path")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigError(
            f"[server] key_path: {path!r} is encrypted; kmipd needs an unencrypted key",
            key="key_path",
        ) from None
    except (ValueError, UnsupportedAlgorithm) as e:
        raise ConfigError(
            f"[server] key_path: {path!r} holds no usable PEM private key ({e})",
            key="key_path",
        ) from None


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


class ServerTLSOptions(CertificateOptions):
    """L{CertificateOptions} with the shared session-ticket keys of its context, if any."""

    ticket_keys: TicketKeys | None = None


def build_server_tls_options(config: Config, ticket_secret_: bytes | None = None) -> ServerTLSOptions:
    """
    Build mutual-TLS server options from C{config}.

    Loads C{certificate_path} (leaf first, then any chain), C{key_path} and
    C{ca_path}; requires TLS 1.2 or later and a client certificate chaining to
    C{ca_path}. (Without configured certificates L{kmipd.service.KMIPService}
    fills in the development PKI first.) Session tickets are keyed from
    C{ticket_secret_} (default: L{ticket_secret} of C{config}), so every process
    and node with the same secret and CAs resumes the others' sessions
    (L{kmipd.tls_tickets}). Blocking: call at startup.

    @raise ConfigError: naming the key of an unreadable or mismatched file or a
        bad cipher list.
    """
    if (
        config.certificate_path is None
        or config.key_path is None
        or config.ca_path is None
    ):
        missing = [
            k
            for k in ("certificate_path", "key_path", "ca_path")
            if getattr(config, k) is None
        ]
        raise ConfigError(
            f"[server] {missing[0]}: required (set certificate_path, key_path and ca_path together)",
            key=missing[0],
        )

    chain = _load_certificates(config.certificate_path, "certificate_path")
    private_key = _load_private_key(config.key_path)
    if _spki(chain[0].public_key()) != _spki(private_key.public_key()):
        raise ConfigError(
            f"[server] key_path: {config.key_path!r} does not match the certificate "
            f"in {config.certificate_path!r}",
            key="key_path",
        )
    cas = _load_certificates(config.ca_path, "ca_path")

    ciphers = openssl_cipher_list(config.tls_cipher_suites, config.auth_suite)
    tls13_only = bool(config.tls_cipher_suites) and not ciphers
    if config.auth_suite == "Basic":
        _log.warn(
            "auth_suite=Basic: TLS 1.0/1.1 are not offered; TLS 1.2 is the minimum"
        )

    try:
        acceptable = (
            AcceptableCiphers.fromOpenSSLCipherString(":".join(ciphers))
            if ciphers
            else None
        )
        options = ServerTLSOptions(
            privateKey=crypto.PKey.from_cryptography_key(private_key),
            certificate=crypto.X509.from_cryptography(chain[0]),
            extraCertChain=[crypto.X509.from_cryptography(c) for c in chain[1:]],
            trustRoot=trustRootFromCertificates(
                [Certificate(crypto.X509.from_cryptography(c)) for c in cas]
            ),
            raiseMinimumTo=TLSVersion.TLSv1_3 if tls13_only else TLSVersion.TLSv1_2,
            acceptableCiphers=acceptable,
            # Stateless session tickets (RFC 5077 / TLS 1.3 PSK): a client that reconnects
            # for each request resumes instead of repeating the certificate handshake; a
            # resumed session keeps the client certificate it was established with.
            enableSessionTickets=True,
        )
    except ValueError as e:
        if "cipher" in str(e):
            raise ConfigError(
                f"{_KEY}: none of the configured TLS 1.2 cipher suites is available "
                "in this OpenSSL build",
                key="tls_cipher_suites",
            ) from None
        raise ConfigError(
            f"[server] certificate_path: {e}", key="certificate_path"
        ) from None
    try:
        context = options.getContext()
    except SSL.Error as e:
        raise ConfigError(
            f"[server] certificate_path: OpenSSL rejected the TLS configuration: {e}",
            key="certificate_path",
        ) from None
    # Twisted sets a random session ID context per context: resuming on another process needs the
    # same one (and a session verified under other CAs, or using a suite not allowed here, must not resume).
    context.set_session_id(session_id_context(
        (c.public_bytes(serialization.Encoding.DER) for c in cas), config.enable_tls_client_auth,
        f"{':'.join(ciphers)};tls13_only={tls13_only}"))
    secret = ticket_secret(config) if ticket_secret_ is None else ticket_secret_
    options.ticket_keys = install_ticket_keys(context, secret, config.tls_ticket_rotation)
    return options


#: ALPN protocols of the HTTPS port, preferred first: the KMIP message-encodings profile
#: speaks HTTP/1.0 and 1.1 only, so C{h2} is never selected (even with Twisted's http2 extra).
HTTPS_ALPN: tuple[bytes, ...] = (b"http/1.1", b"http/1.0")


def select_alpn(offered: Iterable[bytes], acceptable: Iterable[bytes] = HTTPS_ALPN) -> Any:
    """The first of C{acceptable} the client C{offered}, else pyOpenSSL's "no overlap" marker.

    With no overlap the handshake goes on without ALPN (RFC 7301 allows it) instead of failing
    with an internal error as Twisted's selector does; the client then decides.
    """
    offered = set(offered)
    for protocol in acceptable:
        if protocol in offered:
            return protocol
    return SSL.NO_OVERLAPPING_PROTOCOLS


def build_https_tls_options(config: Config) -> ServerTLSOptions:
    """L{build_server_tls_options} for the HTTPS port: the same mutual TLS, and ALPN offering
    L{HTTPS_ALPN} only. Blocking: call at startup."""
    options = build_server_tls_options(config)
    # getContext() builds the context once and every connection uses it; this callback replaces
    # Twisted's (which unions the wrapped factory's protocols, h2 included when installed).
    options.getContext().set_alpn_select_callback(lambda connection, offered: select_alpn(offered))
    return options


def _bio_release_safe(version: str) -> bool:
    """Whether this pyOpenSSL's memory BIOs are raw pointers owned by the C{SSL} object.

    C{release_bio_buffers} relies on pyOpenSSL internals checked in releases 23.2-26.x (the BIOs
    are created by C{BIO_new} without a finaliser and handed to C{SSL_set_bio}); another release
    might wrap them in C{ffi.gc}, and freeing them twice would crash the process. Unknown
    releases keep their buffers instead (3.5 KB more per idle connection, nothing else changes).
    """
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (23, 2) <= (major, minor) < (27, 0)


#: The private names release_bio_buffers and ServerTLSTransport use: cryptography's binding
#: symbols, pyOpenSSL's Connection attributes, Twisted's TLS transport attributes.
_BIO_SYMBOLS = ("BIO_get_mem_data", "BIO_new", "BIO_s_mem", "BIO_free", "SSL_set_bio")
_CONNECTION_ATTRIBUTES = ("_into_ssl", "_from_ssl", "_ssl")
_TRANSPORT_ATTRIBUTES = ("_write", "_handshakeDone", "_lostTLSConnection")


def _missing_internals(lib: Any, ffi: Any, transport: type) -> list[str]:
    """The private names the BIO release needs that this pyOpenSSL, cryptography or Twisted
    lacks (empty: all there). A probe C{Connection} shows pyOpenSSL's instance attributes."""
    if lib is None or ffi is None:
        return ["OpenSSL._util"]
    missing = [name for name in _BIO_SYMBOLS if not hasattr(lib, name)]
    if not hasattr(ffi, "NULL"):
        missing.append("ffi.NULL")
    try:
        probe = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    except Exception:
        missing.append("SSL.Connection")
    else:
        missing += [f"Connection.{name}" for name in _CONNECTION_ATTRIBUTES if not hasattr(probe, name)]
    missing += [f"{transport.__name__}.{name}" for name in _TRANSPORT_ATTRIBUTES if not hasattr(transport, name)]
    return missing


#: Whether release_bio_buffers may touch pyOpenSSL's BIOs: a checked release with every private
#: name present at import; turned off for good by the first unexpected error (_disable_release).
_BIO_RELEASE_SAFE = (_bio_release_safe(_pyopenssl_version_string)
                     and not _missing_internals(_openssl_lib, _ffi, BufferingTLSTransport))


def _disable_release(reason: str) -> None:
    """Turn the BIO release off for the rest of the process, logging why once."""
    global _BIO_RELEASE_SAFE
    if _BIO_RELEASE_SAFE:
        _BIO_RELEASE_SAFE = False
        _log.warn("TLS memory BIO release disabled (connections keep their buffers): {reason}", reason=reason)


def release_bio_buffers(connection: SSL.Connection) -> bool:
    """Give C{connection} new, empty memory BIOs if both of its BIOs are drained.

    pyOpenSSL's memory BIOs keep the capacity they grew to: after a handshake 3.5-5.5 KB per
    connection (the client's and the server's flights), after a large request or response up to
    64 KB, held as long as the connection lives (bench/README.md, "Idle connections"). Fresh BIOs
    allocate nothing until data passes. Nothing is lost: this only happens when neither BIO holds a
    byte. False: not released (a BIO holds data, or this pyOpenSSL keeps its BIOs elsewhere, or
    its internals misbehaved: the release is then off for good, see L{_disable_release}).
    """
    if not _BIO_RELEASE_SAFE:
        return False
    try:
        return _replace_bios(connection)
    except Exception as e:
        _disable_release(f"{type(e).__name__}: {e}")
        return False


def _replace_bios(connection: SSL.Connection) -> bool:
    """L{release_bio_buffers}'s work, through pyOpenSSL's and cryptography's private names."""
    lib = _openssl_lib
    into = getattr(connection, "_into_ssl", None)
    out = getattr(connection, "_from_ssl", None)
    ssl = getattr(connection, "_ssl", None)
    if into is None or out is None or ssl is None:
        return False
    null = _ffi.NULL
    if lib.BIO_get_mem_data(into, null) or lib.BIO_get_mem_data(out, null):
        return False
    new_into = lib.BIO_new(lib.BIO_s_mem())
    new_out = lib.BIO_new(lib.BIO_s_mem())
    if new_into == null or new_out == null:
        for bio in (new_into, new_out):
            if bio != null:
                lib.BIO_free(bio)
        return False
    lib.SSL_set_bio(ssl, new_into, new_out)  # frees the old pair
    connection._into_ssl = new_into
    connection._from_ssl = new_out
    return True

#: Received or sent chunks larger than this grow the memory BIOs: release them afterwards.
_LARGE_CHUNK = 4096


class ServerTLSTransport(BufferingTLSTransport):
    """Twisted's buffering TLS transport, releasing the memory BIOs' grown buffers when drained:
    once the handshake is done (3.5 KB or more per idle connection) and after large chunks."""

    _grown = True  # the handshake grows both BIOs

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        if len(data) > _LARGE_CHUNK:
            self._grown = True
        self._release()

    def _write(self, data: bytes) -> None:
        super()._write(data)
        if len(data) > _LARGE_CHUNK:
            self._grown = True
            self._release()

    def _release(self) -> None:
        if not (self._grown and _BIO_RELEASE_SAFE):
            return
        try:
            if self._handshakeDone and not self._lostTLSConnection and release_bio_buffers(self._tlsConnection):
                self._grown = False
        except Exception as e:  # Twisted's private attributes changed: never drop the connection for it
            _disable_release(f"{type(e).__name__}: {e}")


class ServerTLSFactory(TLSMemoryBIOFactory):
    """L{TLSMemoryBIOFactory} whose connections are L{ServerTLSTransport}s, rotating the shared
    session-ticket keys (if any) when a connection arrives in a new period."""

    protocol = ServerTLSTransport
    ticket_keys: TicketKeys | None = None

    def buildProtocol(self, addr: Any) -> Any:
        if self.ticket_keys is not None:
            self.ticket_keys.refresh()
        return super().buildProtocol(addr)


def wrap_factory(
    factory: IProtocolFactory, options: CertificateOptions
) -> TLSMemoryBIOFactory:
    """Wrap C{factory} so its connections speak server-side TLS with C{options}."""
    wrapped = ServerTLSFactory(options, False, factory)
    wrapped.ticket_keys = getattr(options, "ticket_keys", None)
    return wrapped
