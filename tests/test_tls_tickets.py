"""
Tests for L{kmipd.tls_tickets}: server contexts built from the same configuration (as two worker
processes or two nodes build them) resume each other's TLS sessions; real TLS handshakes between
pyOpenSSL memory-BIO connections, no timing.
"""

from __future__ import annotations

import io
import os
from typing import Any

from OpenSSL import SSL
from OpenSSL._util import lib as _lib
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from kmipd import tls_tickets
from kmipd.auth.chain import AuthChain
from kmipd.auth.identify import Identifier, IdentityError
from kmipd.config import ConfigError, load_config
from kmipd.devcerts import ensure_dev_pki
from kmipd.tls import build_server_tls_options, identity_from_certificate, wrap_factory
from kmipd.tls_tickets import TICKET_KEYS_LENGTH, derive_ticket_keys, elf_function_offsets, ticket_secret

from .test_tls import _pump, _step

SECRET = b"s" * 32


def _reused(connection: SSL.Connection) -> bool:
    """C{SSL_session_reused} (pyOpenSSL 26 has no public method for it)."""
    return bool(_lib.SSL_session_reused(connection._ssl))  # type: ignore[attr-defined]


class _Client:
    """A pyOpenSSL client context holding the development client certificate."""

    def __init__(self, pki: Any, max_version: int | None = None) -> None:
        self.ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        self.ctx.use_certificate_file(pki.client_cert)
        self.ctx.use_privatekey_file(pki.client_key)
        self.ctx.load_verify_locations(pki.ca_cert)
        if max_version is not None:
            self.ctx.set_max_proto_version(max_version)

    def connect(self, server_ctx: SSL.Context, session: Any = None) -> tuple[SSL.Connection, SSL.Connection]:
        """A full exchange (handshake, one byte each way, so a TLS 1.3 ticket arrives): the
        client and server connections."""
        client = SSL.Connection(self.ctx, None)
        if session is not None:
            client.set_session(session)
        client.set_connect_state()
        server = SSL.Connection(server_ctx, None)
        server.set_accept_state()
        for _ in range(6):
            _step(client)
            _step(server)
            _pump(client, server)
        server.sendall(b"s")
        _pump(client, server)
        assert client.recv(1) == b"s"
        client.sendall(b"c")
        _pump(client, server)
        assert server.recv(1) == b"c"
        return client, server


class SharedTicketTests(SynchronousTestCase):
    """Sessions resume across contexts sharing the secret and CAs, and only then."""

    def setUp(self) -> None:
        if tls_tickets.sharing_unavailable():
            raise SkipTest(f"ticket keys cannot be shared here: {tls_tickets.sharing_unavailable()}")
        self.pki = ensure_dev_pki(self.mktemp())
        self.config = load_config(overrides={"certificate_path": self.pki.server_cert,
                                             "key_path": self.pki.server_key, "ca_path": self.pki.ca_cert,
                                             "data_dir": self.pki.directory})

    def context(self, secret: bytes | None = SECRET) -> Any:
        return build_server_tls_options(self.config, secret)

    def resume(self, a: Any, b: Any, max_version: int | None = None) -> tuple[SSL.Connection, SSL.Connection]:
        """A session established on C{a}'s context offered to C{b}'s: the second connection pair."""
        client = _Client(self.pki, max_version)
        first, _ = client.connect(a.getContext())
        self.assertFalse(_reused(first))
        return client.connect(b.getContext(), first.get_session())

    def test_resumes_across_contexts_tls13(self) -> None:
        """A TLS 1.3 session from one context resumes on another built from the same configuration."""
        client, server = self.resume(self.context(), self.context())
        self.assertEqual(client.get_protocol_version_name(), "TLSv1.3")
        self.assertTrue(_reused(client))
        self.assertTrue(_reused(server))

    def test_resumes_across_contexts_tls12(self) -> None:
        """So does a TLS 1.2 (RFC 5077) ticket."""
        client, server = self.resume(self.context(), self.context(), SSL.TLS1_2_VERSION)
        self.assertEqual(client.get_protocol_version_name(), "TLSv1.2")
        self.assertTrue(_reused(server))

    def test_resumed_identity(self) -> None:
        """The resumed connection carries the client certificate of the full handshake."""
        _, server = self.resume(self.context(), self.context())
        self.assertTrue(_reused(server))
        cert = server.get_peer_certificate()
        self.assertEqual(identity_from_certificate(cert, True), "kmipd-client")
        caller = self.successResultOf(Identifier(AuthChain())(cert))
        self.assertEqual(caller.identity, "kmipd-client")

    def test_other_secret_full_handshake(self) -> None:
        """A context with another secret cannot read the ticket: a full handshake, which works."""
        client, server = self.resume(self.context(), self.context(b"t" * 32))
        self.assertFalse(_reused(server))
        self.assertEqual(identity_from_certificate(server.get_peer_certificate(), True), "kmipd-client")

    def test_other_cas_full_handshake(self) -> None:
        """A context trusting other CAs (another session ID context) does not resume the session."""
        other = ensure_dev_pki(self.mktemp())
        with open(self.pki.ca_cert, "rb") as mine, open(other.ca_cert, "rb") as theirs:
            both = os.path.join(self.mktemp())
            with open(both, "wb") as f:
                f.write(mine.read() + theirs.read())
        config = load_config(overrides={"certificate_path": self.pki.server_cert, "key_path": self.pki.server_key,
                                        "ca_path": both, "data_dir": self.pki.directory})
        _, server = self.resume(self.context(), build_server_tls_options(config, SECRET))
        self.assertFalse(_reused(server))

    def test_other_ciphers_full_handshake(self) -> None:
        """A context whose TLS 1.2 cipher list lacks the session's suite (a node or a restart with
        tightened tls_cipher_suites) does not resume it: OpenSSL would, checking the suite only
        against the client's list."""
        first = _Client(self.pki, SSL.TLS1_2_VERSION).connect(self.context().getContext())[0]
        suite = first.get_cipher_name()
        other = next(s for s in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384") if s != suite)
        config = load_config(overrides={"certificate_path": self.pki.server_cert, "key_path": self.pki.server_key,
                                        "ca_path": self.pki.ca_cert, "data_dir": self.pki.directory,
                                        "tls_cipher_suites": other})
        _, server = self.resume(self.context(), build_server_tls_options(config, SECRET), SSL.TLS1_2_VERSION)
        self.assertFalse(_reused(server))
        self.assertEqual(server.get_cipher_name(), other)

    def test_rotation_refuses_old_ticket(self) -> None:
        """After the period changes the old ticket no longer resumes (full handshake); new ones do."""
        a = self.context()
        keys = a.ticket_keys
        assert keys is not None
        client = _Client(self.pki)
        first, _ = client.connect(a.getContext())
        self.assertTrue(keys.refresh((keys.period + 1) * keys.rotation))
        second, server = client.connect(a.getContext(), first.get_session())
        self.assertFalse(_reused(server))
        third, server = client.connect(a.getContext(), second.get_session())
        self.assertTrue(_reused(server))

    def test_factory_rotates(self) -> None:
        """The wrapping factory installs the current period's key for each new connection."""
        clock = [0.0]
        options = self.context()
        assert options.ticket_keys is not None
        options.ticket_keys._clock = lambda: clock[0]
        factory = wrap_factory(object(), options)  # type: ignore[arg-type]
        clock[0] = 7 * options.ticket_keys.rotation + 1
        try:
            factory.buildProtocol(None)
        except Exception:
            pass  # the wrapped object is no factory: only the refresh matters here
        self.assertEqual(options.ticket_keys.period, 7)

    def test_session_lifetime_is_the_rotation(self) -> None:
        """Sessions expire after one rotation period."""
        config = load_config(overrides={"certificate_path": self.pki.server_cert, "key_path": self.pki.server_key,
                                        "ca_path": self.pki.ca_cert, "data_dir": self.pki.directory,
                                        "tls_ticket_rotation": 600})
        self.assertEqual(build_server_tls_options(config, SECRET).getContext().get_timeout(), 600)

    def test_no_secret_per_process(self) -> None:
        """Without a secret (no master key file, no tls_ticket_key_path) each context keeps its own key."""
        self.assertIsNone(ticket_secret(self.config))
        a, b = self.context(None), self.context(None)
        self.assertIsNone(a.ticket_keys)
        _, server = self.resume(a, b)
        self.assertFalse(_reused(server))

    def test_master_key_is_the_default_secret(self) -> None:
        """The master key file is the secret when no tls_ticket_key_path is set."""
        with open(self.config.effective_master_key_path, "wb") as f:
            f.write(os.urandom(32))
        _, server = self.resume(build_server_tls_options(self.config), build_server_tls_options(self.config))
        self.assertTrue(_reused(server))


class FallbackTests(SynchronousTestCase):
    """Without a usable SSL_CTX_ctrl the keys stay per process, with one warning."""

    def setUp(self) -> None:
        self.pki = ensure_dev_pki(self.mktemp())
        self.config = load_config(overrides={"certificate_path": self.pki.server_cert,
                                             "key_path": self.pki.server_key, "ca_path": self.pki.ca_cert,
                                             "data_dir": self.pki.directory})

    def test_unavailable(self) -> None:
        """Sharing marked unavailable: no ticket keys installed, handshakes still work."""
        self.patch(tls_tickets, "_unavailable", "test")
        options = build_server_tls_options(self.config, SECRET)
        self.assertIsNone(options.ticket_keys)
        _, server = _Client(self.pki).connect(options.getContext())
        self.assertEqual(identity_from_certificate(server.get_peer_certificate(), True), "kmipd-client")

    def test_refused_keys_turn_sharing_off(self) -> None:
        """A ctrl that does not keep the keys turns sharing off for the process, warning once."""
        if tls_tickets.sharing_unavailable():
            raise SkipTest("ticket keys cannot be shared here")
        self.patch(tls_tickets, "_ctrl", lambda ctx, cmd, larg, parg: 0)
        self.patch(tls_tickets, "_unavailable", "")
        warnings: list[str] = []
        self.patch(tls_tickets._log, "warn", lambda fmt, **kw: warnings.append(kw.get("reason", "")))
        self.assertIsNone(build_server_tls_options(self.config, SECRET).ticket_keys)
        self.assertIsNone(build_server_tls_options(self.config, SECRET).ticket_keys)
        self.assertEqual(len(warnings), 1)
        self.assertTrue(tls_tickets.sharing_unavailable())

    def test_not_elf(self) -> None:
        """A file that is no ELF64 object has no symbols."""
        self.assertEqual(elf_function_offsets(io.BytesIO(b"\0" * 128), {"SSL_CTX_ctrl"}), {})


class DerivationTests(SynchronousTestCase):
    """derive_ticket_keys and ticket_secret."""

    def test_derivation(self) -> None:
        """80 bytes, fixed for a secret and period, different across periods and secrets."""
        keys = derive_ticket_keys(SECRET, 5)
        self.assertEqual(len(keys), TICKET_KEYS_LENGTH)
        self.assertEqual(keys, derive_ticket_keys(SECRET, 5))
        self.assertNotEqual(keys, derive_ticket_keys(SECRET, 6))
        self.assertNotEqual(keys, derive_ticket_keys(b"t" * 32, 5))

    def test_key_file(self) -> None:
        """tls_ticket_key_path is read; a short or missing file is a configuration error naming it."""
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"k" * 40)
        self.assertEqual(ticket_secret(load_config(overrides={"tls_ticket_key_path": path})), b"k" * 40)
        with open(path, "wb") as f:
            f.write(b"k" * 31)
        for bad in (path, path + ".missing"):
            e = self.assertRaises(ConfigError, ticket_secret, load_config(overrides={"tls_ticket_key_path": bad}))
            self.assertEqual(e.key, "tls_ticket_key_path")

    def test_rotation_setting(self) -> None:
        """tls_ticket_rotation: seconds, 60 to 86400; other values are configuration errors naming it."""
        self.assertEqual(load_config(overrides={"tls_ticket_rotation": "120"}).tls_ticket_rotation, 120)
        self.assertEqual(load_config().tls_ticket_rotation, 3600)
        for bad in ("59", "86401", "hourly"):
            e = self.assertRaises(ConfigError, load_config, overrides={"tls_ticket_rotation": bad})
            self.assertEqual(e.key, "tls_ticket_rotation")


class ExpiryTests(SynchronousTestCase):
    """A resumed session is not verified again: the identifier checks the validity period itself."""

    def test_expired_certificate_refused(self) -> None:
        pki = ensure_dev_pki(self.mktemp())
        with open(pki.client_cert, "rb") as f:
            from cryptography import x509

            cert = x509.load_pem_x509_certificate(f.read())
        after = cert.not_valid_after_utc.timestamp()
        ok = Identifier(AuthChain(), clock=lambda: after - 1)(cert)
        self.assertEqual(self.successResultOf(ok).identity, "kmipd-client")
        self.failureResultOf(Identifier(AuthChain(), clock=lambda: after + 1)(cert), IdentityError)
        before = cert.not_valid_before_utc.timestamp()
        self.failureResultOf(Identifier(AuthChain(), clock=lambda: before - 1)(cert), IdentityError)
