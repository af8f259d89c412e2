"""Tests for L{kmipd.auth.slugs}."""

from __future__ import annotations

import json
from typing import Any

from treq.client import HTTPClient
from treq.testing import StringStubbingResource, StubTreq
from twisted.internet import reactor as _global_reactor
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from kmipd.auth.chain import AuthenticationFailed
from kmipd.auth.slugs import SLUGSAuthenticator, SLUGSConfigError
from tests.slugs_fixture import slugs_available, start_slugs

BASE = "http://slugs.example/slugs/"

GROUPS = {"John Doe": ["Group A"], "Jane Doe": ["Group B", "Group C"]}


class FakeSLUGS:
    """A StringStubbingResource responder that serves C{GROUPS} like SLUGS and records URLs."""

    def __init__(self, groups: dict[str, list[str]] | None = None) -> None:
        self.groups = dict(GROUPS if groups is None else groups)
        self.urls: list[str] = []
        self.override: tuple[int, bytes] | None = None

    def __call__(
        self, method: bytes, url: str, params: Any, headers: Any, data: bytes
    ) -> Any:
        self.urls.append(url)
        if self.override is not None:
            code, body = self.override
            return code, {b"Content-Type": b"application/json"}, body
        prefix = BASE + "users/"
        if method == b"GET" and url.startswith(prefix) and url.endswith("/groups/"):
            from urllib.parse import unquote

            user = unquote(url[len(prefix) : -len("/groups/")])
            if user in self.groups:
                body = json.dumps({"groups": self.groups[user]}).encode()
                return 200, {b"Content-Type": b"application/json"}, body
        return 404, {b"Content-Type": b"text/html"}, b"<html>User not found.</html>"


class NeverAnswers(Resource):
    """A resource that accepts requests and never answers them."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Any] = []

    def render_GET(self, request: Any) -> Any:
        self.requests.append(request)
        return NOT_DONE_YET


class SLUGSAuthenticatorStubTests(SynchronousTestCase):
    """L{SLUGSAuthenticator} against a fake SLUGS through L{StubTreq}."""

    def setUp(self) -> None:
        self.fake = FakeSLUGS()
        self.stub = StubTreq(StringStubbingResource(self.fake))
        self.clock = Clock()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def authenticator(self, **kwargs: Any) -> SLUGSAuthenticator:
        return SLUGSAuthenticator(BASE, self.stub, self.clock, **kwargs)

    def authenticate(self, auth: SLUGSAuthenticator, user: str) -> Deferred[Any]:
        d = auth.authenticate(user)
        self.stub.flush()
        return d

    def assertFailedWith(
        self, d: Deferred[Any], reason_prefix: str
    ) -> AuthenticationFailed:
        """Assert C{d} failed with AuthenticationFailed whose reason starts with C{reason_prefix}."""
        error = self.failureResultOf(d, AuthenticationFailed).value
        self.assertTrue(
            error.reason.startswith(reason_prefix),
            f"{error.reason!r} !~ {reason_prefix!r}",
        )
        return error

    def test_success_returns_groups(self) -> None:
        """A known user's groups are returned as a tuple in SLUGS order."""
        auth = self.authenticator()
        self.assertEqual(
            self.successResultOf(self.authenticate(auth, "John Doe")), ("Group A",)
        )
        self.assertEqual(
            self.successResultOf(self.authenticate(auth, "Jane Doe")),
            ("Group B", "Group C"),
        )

    def test_success_with_no_groups(self) -> None:
        """A known user with no groups authenticates with an empty tuple."""
        self.fake.groups["Loner"] = []
        self.assertEqual(
            self.successResultOf(self.authenticate(self.authenticator(), "Loner")), ()
        )

    def test_duplicate_groups_removed(self) -> None:
        """Duplicate group names in the answer are collapsed, keeping first-seen order."""
        self.fake.groups["Dup"] = ["B", "A", "B"]
        self.assertEqual(
            self.successResultOf(self.authenticate(self.authenticator(), "Dup")),
            ("B", "A"),
        )

    def test_unknown_user(self) -> None:
        """A 404 fails with reason 'unknown user', naming plugin and user."""
        auth = self.authenticator(name="auth:slugs:primary")
        error = self.assertFailedWith(self.authenticate(auth, "Nobody"), "unknown user")
        self.assertEqual((error.plugin, error.user), ("auth:slugs:primary", "Nobody"))

    def test_failure_is_logged(self) -> None:
        """Each failure emits one structured event with plugin, user and reason."""
        auth = self.authenticator(name="auth:slugs:x")
        self.failureResultOf(self.authenticate(auth, "Nobody"), AuthenticationFailed)
        events = [e for e in self.events if e.get("plugin") == "auth:slugs:x"]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["user"], "Nobody")
        self.assertEqual(events[0]["reason"], "unknown user")

    def test_server_error(self) -> None:
        """A 500 fails with an 'unexpected HTTP status 500' reason."""
        self.fake.override = (500, b"oops")
        self.assertFailedWith(
            self.authenticate(self.authenticator(), "John Doe"),
            "unexpected HTTP status 500",
        )

    def test_redirect_not_followed(self) -> None:
        """A 301 is reported as an unexpected status rather than followed."""
        self.fake.override = (301, b"")
        self.assertFailedWith(
            self.authenticate(self.authenticator(), "John Doe"),
            "unexpected HTTP status 301",
        )
        self.assertEqual(len(self.fake.urls), 1)

    def test_malformed_json(self) -> None:
        """A 200 whose body is not JSON fails as a malformed response."""
        self.fake.override = (200, b"{not json")
        self.assertFailedWith(
            self.authenticate(self.authenticator(), "John Doe"),
            "malformed SLUGS response: not JSON",
        )

    def test_non_utf8_body(self) -> None:
        """A 200 whose body is not UTF-8 fails as a malformed response."""
        self.fake.override = (200, b"\xff\xfe")
        self.assertFailedWith(
            self.authenticate(self.authenticator(), "John Doe"),
            "malformed SLUGS response",
        )

    def test_wrong_json_shape(self) -> None:
        """JSON without a list of strings under 'groups' fails as a malformed response."""
        for body in (
            b"null",
            b"[]",
            b'{"users": []}',
            b'{"groups": "A"}',
            b'{"groups": [1]}',
        ):
            self.fake.override = (200, body)
            self.assertFailedWith(
                self.authenticate(self.authenticator(), "John Doe"),
                'malformed SLUGS response: expected {"groups"',
            )

    def test_oversized_body(self) -> None:
        """A body larger than max_body_size fails as malformed without being kept."""
        self.fake.override = (200, b'{"groups": []}' + b" " * (64 * 1024))
        self.assertFailedWith(
            self.authenticate(self.authenticator(), "John Doe"),
            "malformed SLUGS response: body larger than 65536 bytes",
        )

    def test_user_is_quoted_as_one_segment(self) -> None:
        """The user is percent-encoded with safe='' so '/' and ' ' cannot alter the path."""
        self.fake.groups["John Doe/x"] = ["Slash"]
        auth = self.authenticator()
        self.assertEqual(
            self.successResultOf(self.authenticate(auth, "John Doe/x")), ("Slash",)
        )
        self.assertEqual(self.fake.urls, [BASE + "users/John%20Doe%2Fx/groups/"])

    def test_non_ascii_user_quoted(self) -> None:
        """A non-ASCII user is UTF-8 percent-encoded."""
        auth = self.authenticator()
        self.failureResultOf(self.authenticate(auth, "Zoë?#"), AuthenticationFailed)
        self.assertEqual(self.fake.urls, [BASE + "users/Zo%C3%AB%3F%23/groups/"])

    def test_base_url_without_trailing_slash(self) -> None:
        """A base URL without a trailing slash builds the same request URL."""
        auth = SLUGSAuthenticator(BASE.rstrip("/"), self.stub, self.clock)
        self.assertEqual(auth.groups_url("a b"), BASE + "users/a%20b/groups/")

    def test_empty_user_rejected_without_request(self) -> None:
        """An empty user fails immediately and sends no request."""
        self.assertFailedWith(
            self.authenticate(self.authenticator(), ""), "empty user identity"
        )
        self.assertEqual(self.fake.urls, [])

    def test_cache_within_ttl(self) -> None:
        """A second lookup within cache_ttl is answered from the cache without a request."""
        auth = self.authenticator(cache_ttl=30)
        self.successResultOf(self.authenticate(auth, "John Doe"))
        self.clock.advance(29)
        self.fake.groups["John Doe"] = ["Changed"]
        self.assertEqual(
            self.successResultOf(self.authenticate(auth, "John Doe")), ("Group A",)
        )
        self.assertEqual(len(self.fake.urls), 1)

    def test_cache_expires_after_ttl(self) -> None:
        """After cache_ttl seconds the user is looked up again and new groups are seen."""
        auth = self.authenticator(cache_ttl=30)
        self.successResultOf(self.authenticate(auth, "John Doe"))
        self.clock.advance(30)
        self.fake.groups["John Doe"] = ["Changed"]
        self.assertEqual(
            self.successResultOf(self.authenticate(auth, "John Doe")), ("Changed",)
        )
        self.assertEqual(len(self.fake.urls), 2)

    def test_cache_is_per_user(self) -> None:
        """Caching one user does not answer for another."""
        auth = self.authenticator()
        self.successResultOf(self.authenticate(auth, "John Doe"))
        self.assertEqual(
            self.successResultOf(self.authenticate(auth, "Jane Doe")),
            ("Group B", "Group C"),
        )
        self.assertEqual(len(self.fake.urls), 2)

    def test_cache_disabled(self) -> None:
        """With cache_ttl=0 every lookup makes a request."""
        auth = self.authenticator(cache_ttl=0)
        self.successResultOf(self.authenticate(auth, "John Doe"))
        self.successResultOf(self.authenticate(auth, "John Doe"))
        self.assertEqual(len(self.fake.urls), 2)

    def test_failures_cached_briefly(self) -> None:
        """A failed lookup is answered from the cache for failure_cache_ttl; after it the user is looked up again."""
        auth = self.authenticator(failure_cache_ttl=5)
        self.assertFailedWith(self.authenticate(auth, "Late"), "unknown user")
        self.fake.groups["Late"] = ["G"]
        self.clock.advance(4.9)
        self.assertFailedWith(self.authenticate(auth, "Late"), "unknown user")
        self.assertEqual(len(self.fake.urls), 1)
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(self.authenticate(auth, "Late")), ("G",))
        self.assertEqual(len(self.fake.urls), 2)

    def test_failure_cache_disabled(self) -> None:
        """With failure_cache_ttl=0 every failed lookup makes a request."""
        auth = self.authenticator(failure_cache_ttl=0)
        self.failureResultOf(self.authenticate(auth, "Late"), AuthenticationFailed)
        self.fake.groups["Late"] = ["G"]
        self.assertEqual(self.successResultOf(self.authenticate(auth, "Late")), ("G",))

    def test_timeout_cached_no_second_wait(self) -> None:
        """While SLUGS is silent, a second connection of the user is refused at once, not after another timeout."""
        never = NeverAnswers()
        self.stub = StubTreq(never)
        auth = self.authenticator(timeout=5, failure_cache_ttl=3)
        d = self.authenticate(auth, "John Doe")
        self.clock.advance(5)
        self.assertFailedWith(d, "SLUGS did not answer within 5s")
        self.assertFailedWith(self.authenticate(auth, "John Doe"), "SLUGS did not answer within 5s")
        self.assertEqual(len(never.requests), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancellation_not_cached(self) -> None:
        """A lookup its caller cancelled is not a verdict: the next one asks SLUGS."""
        auth = self.authenticator(failure_cache_ttl=5)
        self.stub = StubTreq(NeverAnswers())
        auth._client = self.stub
        d = auth.authenticate("John Doe")
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(auth._failures, {})

    def test_failure_cache_bounded(self) -> None:
        """The failure cache never holds more than max_cache_entries users."""
        auth = self.authenticator(failure_cache_ttl=5)
        auth.max_cache_entries = 3
        for i in range(5):
            self.failureResultOf(self.authenticate(auth, f"x{i}"), AuthenticationFailed)
        self.assertEqual(sorted(auth._failures), ["x2", "x3", "x4"])

    def test_cache_bounded(self) -> None:
        """The cache never holds more than max_cache_entries users."""
        auth = self.authenticator()
        auth.max_cache_entries = 3
        for i in range(5):
            self.fake.groups[f"u{i}"] = []
            self.successResultOf(self.authenticate(auth, f"u{i}"))
        self.assertEqual(len(auth._cache), 3)
        self.assertEqual(sorted(auth._cache), ["u2", "u3", "u4"])

    def test_timeout_with_clock(self) -> None:
        """A SLUGS that never answers fails with a timeout reason once the clock passes timeout."""
        never = NeverAnswers()
        self.stub = StubTreq(never)
        auth = self.authenticator(timeout=5)
        d = self.authenticate(auth, "John Doe")
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertFailedWith(d, "SLUGS did not answer within 5s")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_caller_cancellation_propagates(self) -> None:
        """A caller cancelling before the timeout gets CancelledError, not an auth verdict."""
        self.stub = StubTreq(NeverAnswers())
        auth = self.authenticator(timeout=5)
        d = self.authenticate(auth, "John Doe")
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_invalid_config(self) -> None:
        """Bad URLs, timeouts and TTLs raise SLUGSConfigError naming the section."""
        for url in (
            "ftp://x/",
            "127.0.0.1:8080/slugs/",
            "http:///nohost",
            "http://h/?q=1",
        ):
            e = self.assertRaises(
                SLUGSConfigError,
                SLUGSAuthenticator,
                url,
                self.stub,
                self.clock,
                name="auth:slugs:a",
            )
            self.assertIn("[auth:slugs:a]", str(e))
        self.assertRaises(
            SLUGSConfigError, SLUGSAuthenticator, BASE, self.stub, self.clock, timeout=0
        )
        self.assertRaises(
            SLUGSConfigError,
            SLUGSAuthenticator,
            BASE,
            self.stub,
            self.clock,
            cache_ttl=-1,
        )


class FakeClient:
    """An HTTPClient stand-in whose get() fails with a given exception."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def get(self, url: str, **kwargs: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        d.errback(self.error)
        return d


class SLUGSNetworkErrorTests(SynchronousTestCase):
    """Network errors map to 'SLUGS service unavailable'."""

    def test_unexpected_exception(self) -> None:
        """An unexpected exception from the client is logged and becomes AuthenticationFailed."""
        auth = SLUGSAuthenticator(BASE, FakeClient(RuntimeError("boom")), Clock())
        error = self.failureResultOf(auth.authenticate("x"), AuthenticationFailed).value
        self.assertEqual(
            error.reason, "SLUGS service unavailable: unexpected RuntimeError"
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


def _real_client(testcase: TestCase) -> HTTPClient:
    """A real treq client with a non-persistent pool, closed at cleanup."""
    pool = HTTPConnectionPool(_global_reactor, persistent=False)
    testcase.addCleanup(pool.closeCachedConnections)
    return HTTPClient(Agent(_global_reactor, pool=pool))


class SlowResource(Resource):
    """Answers /fast/... at once and /slow/... only after C{delay} seconds."""

    isLeaf = True

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.pending: list[Any] = []

    def render_GET(self, request: Any) -> Any:
        body = json.dumps({"groups": ["G"]}).encode()
        if request.path.startswith(b"/fast/"):
            return body
        if request.path.startswith(b"/stall-body/"):
            # Headers and half the body now, the rest after the delay.
            request.setHeader(b"Content-Length", b"%d" % len(body))
            request.write(body[:5])
            body = body[5:]

        def answer() -> None:
            if not finished:
                request.write(body)
                request.finish()

        finished: list[bool] = []
        call = _global_reactor.callLater(self.delay, answer)
        self.pending.append(call)

        def gone(_: object) -> None:
            finished.append(True)
            if call.active():
                call.cancel()

        request.notifyFinish().addBoth(gone)
        return NOT_DONE_YET


class SLUGSLoopbackTests(TestCase):
    """Real treq client against real loopback HTTP servers."""

    timeout = 30

    async def _listen(self, resource: Resource) -> str:
        port = await TCP4ServerEndpoint(
            _global_reactor, 0, interface="127.0.0.1"
        ).listen(Site(resource))
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}"

    def test_slow_slugs_times_out(self) -> None:
        """A server slower than the timeout fails within the timeout, and the server keeps working."""
        return Deferred.fromCoroutine(self._slow())

    async def _slow(self) -> None:
        resource = SlowResource(delay=5.0)
        base = await self._listen(resource)
        client = _real_client(self)
        auth = SLUGSAuthenticator(base + "/slow/", client, _global_reactor, timeout=0.3)
        start = _global_reactor.seconds()
        try:
            await auth.authenticate("John Doe")
        except AuthenticationFailed as e:
            self.assertTrue(
                e.reason.startswith("SLUGS did not answer within 0.3s"), e.reason
            )
        else:
            self.fail("slow SLUGS did not fail")
        elapsed = _global_reactor.seconds() - start
        self.assertTrue(0.25 <= elapsed < 2.0, elapsed)
        fast = SLUGSAuthenticator(base + "/fast/", client, _global_reactor, timeout=5)
        self.assertEqual(await fast.authenticate("John Doe"), ("G",))
        # Let the server notice the aborted connection and cancel its timer.
        await deferLater(_global_reactor, 0.05, lambda: None)
        self.assertFalse(any(c.active() for c in resource.pending))

    def test_stalled_body_times_out(self) -> None:
        """A server that sends headers but stalls the body still fails within the timeout."""
        return Deferred.fromCoroutine(self._stalled_body())

    async def _stalled_body(self) -> None:
        resource = SlowResource(delay=5.0)
        base = await self._listen(resource)
        auth = SLUGSAuthenticator(
            base + "/stall-body/", _real_client(self), _global_reactor, timeout=0.3
        )
        start = _global_reactor.seconds()
        try:
            await auth.authenticate("John Doe")
        except AuthenticationFailed as e:
            self.assertTrue(
                e.reason.startswith("SLUGS did not answer within"), e.reason
            )
        else:
            self.fail("stalled SLUGS body did not fail")
        self.assertLess(_global_reactor.seconds() - start, 2.0)

    def test_connection_refused(self) -> None:
        """A SLUGS that is down fails with 'SLUGS service unavailable'."""
        return Deferred.fromCoroutine(self._refused())

    async def _refused(self) -> None:
        port = await TCP4ServerEndpoint(
            _global_reactor, 0, interface="127.0.0.1"
        ).listen(Site(Resource()))
        number = port.getHost().port
        await port.stopListening()
        auth = SLUGSAuthenticator(
            f"http://127.0.0.1:{number}/slugs/",
            _real_client(self),
            _global_reactor,
            timeout=5,
        )
        try:
            await auth.authenticate("John Doe")
        except AuthenticationFailed as e:
            self.assertTrue(
                e.reason.startswith("SLUGS service unavailable: ConnectionRefused"),
                e.reason,
            )
        else:
            self.fail("authentication against a closed port succeeded")


class RealSLUGSTests(TestCase):
    """Authenticate against the real C{slugs} service (CherryPy) in a subprocess."""

    timeout = 60

    if not slugs_available():
        skip = "the slugs package is not importable (pip install --no-deps slugs==1.1.0 cherrypy>=18 routes)"

    def test_real_slugs(self) -> None:
        """John Doe and Jane Doe get their groups from real SLUGS; an unknown user fails."""
        return Deferred.fromCoroutine(self._real())

    async def _real(self) -> None:
        url = await start_slugs(
            self, {"John Doe": ["Group A"], "Jane Doe": ["Group B"]}
        )
        auth = SLUGSAuthenticator(url, _real_client(self), _global_reactor, timeout=10)
        self.assertEqual(await auth.authenticate("John Doe"), ("Group A",))
        self.assertEqual(await auth.authenticate("Jane Doe"), ("Group B",))
        try:
            await auth.authenticate("Nobody")
        except AuthenticationFailed as e:
            self.assertEqual(e.reason, "unknown user")
        else:
            self.fail("unknown user authenticated")
