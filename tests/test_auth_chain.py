"""Tests for L{kmipd.auth.chain}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from treq.testing import StringStubbingResource, StubTreq
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from kmipd.auth import (
    AuthChain,
    AuthenticationFailed,
    Identity,
    SLUGSAuthenticator,
    build_auth_chain,
)


class FakeAuthenticator:
    """An authenticator that records calls and answers with fixed groups or a failure."""

    def __init__(
        self, name: str, groups: tuple[str, ...] | None = None, reason: str = ""
    ) -> None:
        self.name = name
        self.groups = groups
        self.reason = reason
        self.calls: list[str] = []

    def authenticate(self, user: str) -> Deferred[tuple[str, ...]]:
        self.calls.append(user)
        if self.groups is None:
            return fail(AuthenticationFailed(self.name, user, self.reason))
        return succeed(self.groups)


class Exploding:
    """An authenticator with a bug: it raises a non-authentication error."""

    name = "auth:broken"

    def authenticate(self, user: str) -> Deferred[tuple[str, ...]]:
        raise KeyError("bug")


class AuthChainTests(SynchronousTestCase):
    """L{AuthChain} ordering and outcomes."""

    def test_no_plugins(self) -> None:
        """With no plugins the user is accepted with groups=None (no group information)."""
        identity = self.successResultOf(AuthChain([]).authenticate("John Doe"))
        self.assertEqual(identity, Identity("John Doe", None))

    def test_first_success_wins(self) -> None:
        """The first plugin that accepts supplies the groups and later plugins are not asked."""
        first = FakeAuthenticator("a", ("G1",))
        second = FakeAuthenticator("b", ("G2",))
        identity = self.successResultOf(AuthChain([first, second]).authenticate("u"))
        self.assertEqual(identity, Identity("u", ("G1",)))
        self.assertEqual((first.calls, second.calls), (["u"], []))

    def test_fallback_when_first_down(self) -> None:
        """When the first plugin fails (e.g. SLUGS down) the second is tried and its groups used."""
        first = FakeAuthenticator("a", reason="SLUGS service unavailable: refused")
        second = FakeAuthenticator("b", ("G2",))
        identity = self.successResultOf(AuthChain([first, second]).authenticate("u"))
        self.assertEqual(identity, Identity("u", ("G2",)))
        self.assertEqual((first.calls, second.calls), (["u"], ["u"]))

    def test_order_is_config_order(self) -> None:
        """Plugins are queried strictly in the order given."""
        order: list[str] = []

        class Recording(FakeAuthenticator):
            def authenticate(self, user: str) -> Deferred[tuple[str, ...]]:
                order.append(self.name)
                return super().authenticate(user)

        plugins = [Recording(n, reason="no") for n in ("c", "a", "b")]
        self.failureResultOf(AuthChain(plugins).authenticate("u"), AuthenticationFailed)
        self.assertEqual(order, ["c", "a", "b"])

    def test_all_fail(self) -> None:
        """When every plugin fails, AuthenticationFailed lists each plugin's reason in order."""
        plugins = [
            FakeAuthenticator("a", reason="unknown user"),
            FakeAuthenticator("b", reason="timeout"),
        ]
        error = self.failureResultOf(
            AuthChain(plugins).authenticate("u"), AuthenticationFailed
        ).value
        self.assertEqual((error.plugin, error.user), ("auth", "u"))
        self.assertEqual(
            [(c.plugin, c.reason) for c in error.causes],
            [("a", "unknown user"), ("b", "timeout")],
        )
        self.assertIn("a: unknown user; b: timeout", error.reason)

    def test_buggy_plugin_is_a_refusal(self) -> None:
        """A plugin raising an unexpected error is logged and the next plugin is tried."""
        second = FakeAuthenticator("b", ("G",))
        identity = self.successResultOf(
            AuthChain([Exploding(), second]).authenticate("u")
        )
        self.assertEqual(identity, Identity("u", ("G",)))
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_waits_for_asynchronous_plugin(self) -> None:
        """The chain waits for a pending plugin before trying the next one."""
        pending: Deferred[tuple[str, ...]] = Deferred()

        class Slow(FakeAuthenticator):
            def authenticate(self, user: str) -> Deferred[tuple[str, ...]]:
                self.calls.append(user)
                return pending

        first, second = Slow("a"), FakeAuthenticator("b", ("G",))
        d = AuthChain([first, second]).authenticate("u")
        self.assertNoResult(d)
        self.assertEqual(second.calls, [])
        pending.errback(AuthenticationFailed("a", "u", "timeout"))
        self.assertEqual(self.successResultOf(d), Identity("u", ("G",)))


@dataclass
class Section:
    """A stand-in for a parsed [auth:slugs...] configuration section."""

    section: str
    enabled: Any
    url: str


class BuildAuthChainTests(SynchronousTestCase):
    """L{build_auth_chain} from configuration sections."""

    def test_only_enabled_in_order(self) -> None:
        """Enabled sections become SLUGS plugins in order, named after their section."""
        configs = [
            Section("auth:slugs:b", True, "http://b/slugs/"),
            Section("auth:slugs:off", False, "http://off/slugs/"),
            Section("auth:slugs:a", True, "http://a/slugs/"),
        ]
        chain = build_auth_chain(configs, object(), Clock(), timeout=2, cache_ttl=0)
        self.assertEqual(
            [p.name for p in chain.authenticators], ["auth:slugs:b", "auth:slugs:a"]
        )
        self.assertTrue(
            all(isinstance(p, SLUGSAuthenticator) for p in chain.authenticators)
        )
        self.assertEqual(
            [p.url for p in chain.authenticators],
            ["http://b/slugs/", "http://a/slugs/"],
        )

    def test_string_enabled_rejected(self) -> None:
        """A non-bool enabled value (PyKMIP's "True" string) is rejected with the section named."""
        e = self.assertRaises(
            TypeError,
            build_auth_chain,
            [Section("auth:slugs", "False", "http://x/")],
            object(),
            Clock(),
        )
        self.assertIn("[auth:slugs]", str(e))

    def test_fallback_end_to_end(self) -> None:
        """A built chain falls back from a failing SLUGS to a working one over StubTreq."""

        def respond(
            method: bytes, url: str, params: Any, headers: Any, data: bytes
        ) -> Any:
            if url.startswith("http://primary/"):
                return 503, {}, b"down"
            return (
                200,
                {b"Content-Type": b"application/json"},
                b'{"groups": ["Group A"]}',
            )

        stub = StubTreq(StringStubbingResource(respond))
        configs = [
            Section("auth:slugs:primary", True, "http://primary/slugs/"),
            Section("auth:slugs:secondary", True, "http://secondary/slugs/"),
        ]
        chain = build_auth_chain(configs, stub, Clock())
        d = chain.authenticate("John Doe")
        stub.flush()
        self.assertEqual(self.successResultOf(d), Identity("John Doe", ("Group A",)))
