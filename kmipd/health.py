# -*- test-case-name: tests.test_metrics -*-
"""Liveness (C{/healthz}) and readiness (C{/readyz}) for load balancers and orchestrators.

Liveness answers from the reactor: if it answers, the process serves. Readiness checks the
database in a thread of its own, bounded by a timeout: not ready while the database is
unreachable, while its schema is not this kmipd's (a migration is pending), or while a previous
check is still stuck. The site that serves them (with C{/metrics}) is built by L{build_site}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from kmipd.log import Logger

_log = Logger()

__all__ = ["HealthResource", "ReadinessResource", "StoreHealth", "build_site", "check_store"]


def check_store(store: Any, engine: Any = None) -> str | None:
    """C{None} if C{store} answers and its schema is current, else why not (blocking).

    @param engine: the engine to ask (default C{store.engine}); see L{StoreHealth}.
    """
    engine = engine if engine is not None else getattr(store, "engine", None)
    if engine is None:
        return None  # the memory store (or an embedder's) is always there
    import sqlalchemy as sa

    from .store.engine import safe_url
    from .store.migrations import current_revision, head_revision

    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            revision = current_revision(conn)
    except Exception as e:  # any driver error means "not ready"
        return f"database at {safe_url(str(engine.url))} unreachable: {type(e).__name__}"
    head = head_revision()
    if revision != head:
        return f"database schema is {revision}, this kmipd needs {head} (run `kmipd-admin db upgrade`)"
    return None


class StoreHealth:
    """Readiness of a store, checked over a connection of its own.

    The check does not borrow from the store's connection pool: under load every pooled
    connection may be busy, and a readiness check waiting for one would take a healthy node out
    of rotation. C{engine} opens (and closes) one connection per check.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.engine: Any = None
        url = getattr(getattr(store, "engine", None), "url", None)
        if url is not None:
            import sqlalchemy as sa
            from sqlalchemy.pool import NullPool

            self.engine = sa.create_engine(url, poolclass=NullPool)

    def check(self) -> str | None:
        """See L{check_store} (blocking)."""
        return check_store(self.store, self.engine)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class HealthResource(Resource):
    """C{GET /healthz}: 200 while the reactor runs."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-cache")
        return b'{"status":"ok"}\n'


class ReadinessResource(Resource):
    """C{GET /readyz}: 200 when C{check()} returns C{None} within C{timeout} seconds, else 503.

    @param check: the blocking check (L{check_store}), run in C{pool}.
    @param pool: a thread pool of its own, so a hung database cannot starve request workers.
    """

    isLeaf = True

    def __init__(self, check: Callable[[], str | None], *, reactor: Any, pool: ThreadPool,
                 timeout: float = 5.0) -> None:
        super().__init__()
        self.check = check
        self.reactor = reactor
        self.pool = pool
        self.timeout = timeout
        self._checking = False
        self._waiters: list[Deferred[str | None]] = []

    def _start(self) -> Deferred[str | None]:
        """A Deferred for the result of the running check (one is started if none runs)."""
        mine: Deferred[str | None] = Deferred()
        self._waiters.append(mine)
        if not self._checking:
            self._checking = True

            def done(result: Any) -> None:
                self._checking = False
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if waiter.called:  # timed out already
                        continue
                    if isinstance(result, Failure):
                        waiter.errback(result)
                    else:
                        waiter.callback(result)

            deferToThreadPool(self.reactor, self.pool, self.check).addBoth(done)
        return mine

    def render_GET(self, request: Any) -> Any:
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-cache")
        d = self._start()
        def expire() -> None:
            if not d.called:
                d.callback(f"readiness check did not finish within {self.timeout:g} seconds")

        timer = self.reactor.callLater(self.timeout, expire)

        def answer(result: Any) -> None:
            if timer.active():
                timer.cancel()
            if isinstance(result, Failure):
                _log.warn("readiness check failed: {error}", error=result.getErrorMessage())
                result = f"readiness check failed: {result.getErrorMessage()}"
            ready = result is None
            request.setResponseCode(200 if ready else 503)
            body = {"status": "ready"} if ready else {"status": "not ready", "reason": result}
            if not request.finished and not getattr(request, "_disconnected", False):
                request.write(json.dumps(body).encode() + b"\n")
                request.finish()

        d.addBoth(answer)
        return NOT_DONE_YET


def build_site(metrics: Any, readiness: ReadinessResource, reactor: Any) -> Site:
    """C{/metrics}, C{/healthz} and C{/readyz} on one site."""
    from .metrics import metrics_resource

    root = Resource()
    root.putChild(b"metrics", metrics_resource(metrics, reactor))
    root.putChild(b"healthz", HealthResource())
    root.putChild(b"readyz", readiness)
    site = Site(root)
    site.displayTracebacks = False
    return site
