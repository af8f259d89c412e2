# -*- test-case-name: tests.test_slugs -*-
"""
SLUGS third-party authentication plugin.

SLUGS (Simple, Lightweight User Group Services, the C{slugs} package) serves
user/group membership over REST.  Of its API this plugin uses one call::

    GET <url>/users/<user>/groups/  ->  200 {"groups": ["Group A", ...]}
                                        404 if the user is unknown

A 200 answer both proves that the user exists and carries its groups, so one
request does the work of PyKMIP's two (C{users/<user>} then
C{users/<user>/groups}).  The trailing slash is CherryPy's canonical form:
without it SLUGS answers C{301} with an unescaped C{Location} header, so
redirects are not followed (a redirect is reported as an unexpected status).

Differences from PyKMIP's blocking C{SLUGSConnector}:

 - requests go through an injected treq C{HTTPClient} and never block the
   reactor;
 - the user is percent-encoded as one path segment (C{safe=""}), so a user
   such as C{"John Doe/x"} cannot change the path;
 - the whole lookup (connect, response headers and body) is bounded by
   C{timeout} seconds on the injected clock (a stalled body aborts the
   connection), and the body by L{SLUGSAuthenticator.max_body_size};
 - each failure is a distinct, logged L{AuthenticationFailed}
   (unknown user, service unavailable, timeout, unexpected status,
   malformed response) instead of a C{ConfigurationError};
 - successful lookups are cached per user for C{cache_ttl} seconds on the
   injected clock.  Failed lookups (unknown user, SLUGS down, slow or
   answering nonsense) are cached too, but only for C{failure_cache_ttl}
   seconds (a few): each new connection of a missing user, or of any user
   while SLUGS is down, is refused at once instead of waiting C{timeout}
   again, and a user added to SLUGS, or a SLUGS service that comes back, is
   seen that soon.  A lookup cancelled by its caller is not a verdict and is
   not cached.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from twisted.internet.defer import CancelledError, Deferred, TimeoutError, succeed
from twisted.internet.error import ConnectError, ConnectingCancelledError
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone, ResponseFailed, ResponseNeverReceived
from twisted.web.http import PotentialDataLoss

from kmipd.auth.errors import AuthenticationFailed
from kmipd.log import Logger

__all__ = ["SLUGSAuthenticator", "SLUGSConfigError"]

#: Reasons given in L{AuthenticationFailed.reason} (prefixes, for matching).
REASON_UNKNOWN_USER = "unknown user"
REASON_UNAVAILABLE = "SLUGS service unavailable"
REASON_TIMEOUT = "SLUGS did not answer within"
REASON_STATUS = "unexpected HTTP status"
REASON_MALFORMED = "malformed SLUGS response"
REASON_EMPTY_USER = "empty user identity"


class SLUGSConfigError(ValueError):
    """An C{[auth:slugs]} section has an invalid setting."""


class _BodyTooLarge(Exception):
    """The response body exceeded the reader's limit."""


class _BodyReader(Protocol):
    """
    Collect a response body up to C{limit} bytes.

    Unlike C{treq.content}, cancelling L{finished} aborts the connection, so a
    server that stalls mid-body does not keep it open after the timeout.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._done = False
        self.finished: Deferred[bytes] = Deferred(lambda _: self._abort())

    def dataReceived(self, data: bytes) -> None:
        if self._done:
            return
        self._size += len(data)
        if self._size > self._limit:
            self._abort()
            self.finished.errback(_BodyTooLarge(self._limit))
            return
        self._chunks.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._done:
            return
        self._done = True
        if reason.check(ResponseDone, PotentialDataLoss):
            self.finished.callback(b"".join(self._chunks))
        else:
            self.finished.errback(reason)

    def _abort(self) -> None:
        self._done = True
        for name in ("abortConnection", "stopProducing", "loseConnection"):
            method = getattr(self.transport, name, None)
            if method is not None:
                method()
                return


class SLUGSAuthenticator:
    """
    Authenticate users and fetch their groups from a SLUGS service.

    @ivar name: the plugin name used in errors and log events (the
        configuration section, e.g. C{"auth:slugs:primary"}).
    """

    _log = Logger()

    #: Upper bound on cached users; expired entries are purged first.
    max_cache_entries = 10_000

    #: Largest SLUGS response body accepted, in bytes.
    max_body_size = 64 * 1024

    def __init__(
        self,
        url: str,
        http_client: Any,
        clock: IReactorTime,
        timeout: float = 5.0,
        cache_ttl: float = 30.0,
        name: str = "auth:slugs",
        failure_cache_ttl: float = 5.0,
    ) -> None:
        """
        @param url: the SLUGS base URL, e.g. C{"http://127.0.0.1:8080/slugs/"}.
        @param http_client: a L{treq.client.HTTPClient} (or C{StubTreq}).
        @param clock: provider of L{IReactorTime} for timeouts and the cache.
        @param timeout: seconds allowed for one whole lookup.
        @param cache_ttl: seconds a successful lookup is reused; C{0}
            disables caching.
        @param failure_cache_ttl: seconds a failed lookup is answered from
            the cache (the same failure, no request); C{0} disables it.
        @raise SLUGSConfigError: for a non-http(s) URL or a bad number.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SLUGSConfigError(f"[{name}] url must be an http(s) URL, got {url!r}")
        if parts.query or parts.fragment:
            raise SLUGSConfigError(
                f"[{name}] url must not have a query or fragment: {url!r}"
            )
        if not timeout > 0:
            raise SLUGSConfigError(
                f"[{name}] timeout must be positive, got {timeout!r}"
            )
        if not cache_ttl >= 0:
            raise SLUGSConfigError(
                f"[{name}] cache_ttl must be >= 0, got {cache_ttl!r}"
            )
        if not failure_cache_ttl >= 0:
            raise SLUGSConfigError(
                f"[{name}] failure_cache_ttl must be >= 0, got {failure_cache_ttl!r}"
            )
        self.name = name
        self.url = url
        self._base = url.rstrip("/")
        self._client = http_client
        self._clock = clock
        self._timeout = float(timeout)
        self._cache_ttl = float(cache_ttl)
        self._failure_ttl = float(failure_cache_ttl)
        #: lookups asked for, of them answered from the cache (successes and recent failures), and
        #: failed (read by kmipd.metrics)
        self.lookups = self.cache_hits = self.failures = 0
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        #: user -> (expiry, reason) of a recent failed lookup.
        self._failures: dict[str, tuple[float, str]] = {}

    def __repr__(self) -> str:
        return f"<SLUGSAuthenticator {self.name} {self.url}>"

    def groups_url(self, user: str) -> str:
        """Return the URL of C{user}'s groups, with C{user} as one quoted segment."""
        return f"{self._base}/users/{quote(user, safe='')}/groups/"

    def authenticate(self, user: str) -> Deferred[tuple[str, ...]]:
        """
        Check that C{user} exists in SLUGS and return its groups.

        @return: a Deferred firing with the user's groups (possibly empty),
            or failing with L{AuthenticationFailed}.
        """
        self.lookups += 1  # ops: counters read by kmipd.metrics
        if not user:
            return self._fail(user, REASON_EMPTY_USER)
        now = self._clock.seconds()
        cached = self._cache.get(user)
        if cached is not None:
            expires, groups = cached
            if now < expires:
                self.cache_hits += 1
                return succeed(groups)
            del self._cache[user]
        failed = self._failures.get(user)
        if failed is not None:
            expires, reason = failed
            if now < expires:
                self.cache_hits += 1
                self.failures += 1
                d: Deferred[Any] = Deferred()
                d.errback(AuthenticationFailed(self.name, user, reason))
                return d
            del self._failures[user]

        started = now
        d = self._client.get(
            self.groups_url(user),
            headers={b"Accept": [b"application/json"]},
            allow_redirects=False,
            unbuffered=True,
            timeout=self._timeout,
            reactor=self._clock,
        )
        d.addCallback(self._read_response, user)
        # treq's own timeout only covers the response headers; this one also
        # bounds reading the body.
        deadline = self._clock.callLater(self._timeout, d.cancel)

        def stop_deadline(result: object) -> object:
            if deadline.active():
                deadline.cancel()
            return result

        d.addBoth(stop_deadline)
        d.addCallback(self._remember, user)
        d.addErrback(self._translate_failure, user, started)
        d.addErrback(self._remember_failure)
        return d

    def _read_response(self, response: Any, user: str) -> Deferred[tuple[str, ...]]:
        reader = _BodyReader(self.max_body_size)
        response.deliverBody(reader)
        d = reader.finished.addCallback(self._parse, response.code, user)
        d.addErrback(self._body_too_large, user)
        return d

    def _body_too_large(self, failure: Failure, user: str) -> Failure:
        if failure.check(_BodyTooLarge):
            raise AuthenticationFailed(
                self.name,
                user,
                f"{REASON_MALFORMED}: body larger than {self.max_body_size} bytes",
            )
        return failure

    def _parse(self, body: bytes, code: int, user: str) -> tuple[str, ...]:
        if code == 404:
            raise AuthenticationFailed(self.name, user, REASON_UNKNOWN_USER)
        if code != 200:
            raise AuthenticationFailed(self.name, user, f"{REASON_STATUS} {code}")
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise AuthenticationFailed(
                self.name, user, f"{REASON_MALFORMED}: not JSON"
            ) from None
        groups = document.get("groups") if isinstance(document, dict) else None
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise AuthenticationFailed(
                self.name,
                user,
                f'{REASON_MALFORMED}: expected {{"groups": [string, ...]}}',
            )
        return tuple(dict.fromkeys(groups))

    def _remember(self, groups: tuple[str, ...], user: str) -> tuple[str, ...]:
        if self._cache_ttl > 0:
            now = self._clock.seconds()
            if len(self._cache) >= self.max_cache_entries:
                self._purge(now)
            self._cache[user] = (now + self._cache_ttl, groups)
        self._log.debug(
            "{plugin} authenticated {user} with groups {groups}",
            plugin=self.name,
            user=user,
            groups=groups,
        )
        return groups

    def _purge(self, now: float) -> None:
        _purge(self._cache, now, self.max_cache_entries)

    def _remember_failure(self, failure: Failure) -> Failure:
        """Cache an authentication verdict (not a caller's cancellation) for C{failure_cache_ttl}."""
        error = failure.value
        if self._failure_ttl > 0 and isinstance(error, AuthenticationFailed):
            now = self._clock.seconds()
            if len(self._failures) >= self.max_cache_entries:
                _purge(self._failures, now, self.max_cache_entries)
            self._failures[error.user] = (now + self._failure_ttl, error.reason)
        return failure

    def _translate_failure(
        self, failure: Failure, user: str, started: float
    ) -> Failure:
        error = failure.value
        if isinstance(error, AuthenticationFailed):
            return self._log_failure(failure)
        cancelled = failure.check(
            CancelledError, ConnectingCancelledError, TimeoutError
        ) or (
            isinstance(error, ResponseNeverReceived)
            and any(r.check(CancelledError) for r in error.reasons)
        )
        if cancelled:
            if self._clock.seconds() - started >= self._timeout:
                return self._log_failure(
                    Failure(
                        AuthenticationFailed(
                            self.name, user, f"{REASON_TIMEOUT} {self._timeout:g}s"
                        )
                    )
                )
            # Cancelled by our caller: not an authentication verdict.
            return Failure(CancelledError())
        if isinstance(error, (ConnectError, ResponseFailed, ConnectionError)):
            reason = f"{REASON_UNAVAILABLE}: {_describe(error)}"
        else:
            self._log.failure(
                "{plugin}: unexpected error while authenticating {user}",
                failure,
                plugin=self.name,
                user=user,
            )
            reason = f"{REASON_UNAVAILABLE}: unexpected {type(error).__name__}"
        return self._log_failure(Failure(AuthenticationFailed(self.name, user, reason)))

    def _log_failure(self, failure: Failure) -> Failure:
        error = failure.value
        assert isinstance(error, AuthenticationFailed)
        self.failures += 1  # ops: read by kmipd.metrics
        self._log.warn(
            "{plugin}: authentication of {user} failed: {reason}",
            plugin=error.plugin,
            user=error.user,
            reason=error.reason,
            url=self.url,
        )
        return failure

    def _fail(self, user: str, reason: str) -> Deferred[tuple[str, ...]]:
        d: Deferred[tuple[str, ...]] = Deferred()
        d.errback(
            self._log_failure(Failure(AuthenticationFailed(self.name, user, reason)))
        )
        return d


def _purge(cache: dict[str, tuple[float, Any]], now: float, most: int) -> None:
    """Drop expired entries of C{cache}, then the oldest, until it holds fewer than C{most}."""
    for key in [k for k, (expires, _) in cache.items() if expires <= now]:
        del cache[key]
    while len(cache) >= most:
        del cache[next(iter(cache))]


def _describe(error: BaseException) -> str:
    """A short description of a network error (no tracebacks)."""
    if isinstance(error, ResponseFailed):
        inner = [r.getErrorMessage() for r in error.reasons]
        return f"{type(error).__name__}({', '.join(inner)})"
    return f"{type(error).__name__}: {error}"
