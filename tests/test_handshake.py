"""Bare TCP sockets that never start TLS cannot lock legitimate clients out (real sockets, loopback).

A real L{KMIPService} with mutual TLS on 127.0.0.1; the bare sockets are opened and watched from a
thread so the reactor keeps serving meanwhile. Counts are kept well under C{ulimit -n}.
"""

from __future__ import annotations

import os
import resource
import socket
import ssl
import time
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from kmipd.config import load_config
from kmipd.service import KMIPService
from kmipd.spec import Operation, QueryFunction, ResultStatus, Tag
from kmipd.store.memory import MemoryObjectStore
from kmipd.testing import batch_item, payload, request, results
from kmipd.ttlv import Item, decode, encode, peek_header

QUERY = encode(request(batch_item(Operation.QUERY, payload(
    Item.enum(Tag.QUERY_FUNCTION, QueryFunction.QUERY_OPERATIONS)))))


def open_bare(port: int, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """C{count} TCP connections to C{port} that send nothing."""
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def closed(socks: list[socket.socket]) -> int:
    """How many of C{socks} the server has closed (EOF or reset)."""
    count = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                count += 1
        except BlockingIOError:
            pass
        except OSError:
            count += 1
    return count


def query(port: int, pki: Any) -> Item:
    """One mutual-TLS connection: send a Query, return the decoded response."""
    ctx = ssl.create_default_context(cafile=pki.ca_cert)
    ctx.load_cert_chain(pki.client_cert, pki.client_key)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(QUERY)
            data = b""
            while len(data) < 8 or len(data) < 8 + peek_header(data, 0)[2]:
                chunk = tls.recv(65536)
                if not chunk:
                    raise ConnectionError("closed before the response")
                data += chunk
    return decode(data)


class BareSocketTests(TestCase):
    """Bare sockets neither count against max_connections nor outlive handshake_timeout."""

    timeout = 120

    def start(self, **overrides: Any) -> None:
        needed = 2 * 2_000 + 200
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < needed:
            self.skipTest(f"ulimit -n is {soft}; this test needs {needed} descriptors")
        values: dict[str, Any] = {"data_dir": os.path.abspath(self.mktemp()),
                                  "listen": ("tcp:0:interface=127.0.0.1:backlog=1024",)}
        values.update(overrides)
        config = load_config(None, values)
        self.service = KMIPService(config, store=MemoryObjectStore())
        self.service.startService()
        self.addCleanup(self.service.stopService)
        (port,) = self.service.ports
        self.port = port.getHost().port
        from kmipd.devcerts import ensure_dev_pki

        self.pki = ensure_dev_pki(config.data_dir)

    def keep(self, socks: list[socket.socket]) -> list[socket.socket]:
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    @defer.inlineCallbacks
    def test_legitimate_client_served_amid_bare_sockets(self):  # type: ignore[no-untyped-def]
        """With 2,000 bare sockets open and max_connections=50, a mutual-TLS client gets its answer;
        the bare sockets are closed at handshake_timeout and never counted."""
        self.start(max_connections=50, handshake_timeout=3, max_handshakes_per_address=5_000,
                   max_pending_handshakes=5_000)
        started = time.monotonic()
        bare = self.keep((yield deferToThread(open_bare, self.port, 2_000)))
        yield deferLater(reactor, 0.2, lambda: None)  # let the reactor accept them
        counter = self.service.factory.counter
        self.assertEqual(counter.open, 0, "bare sockets do not count against max_connections")
        answer = yield deferToThread(query, self.port, self.pki)
        (result,) = results(answer)
        self.assertEqual(result.status, ResultStatus.SUCCESS)
        # The deadline runs from each socket's accept: wait until the last one is past it.
        yield deferLater(reactor, max(0.0, 3.5 - (time.monotonic() - started)), lambda: None)
        for _ in range(40):
            shut = yield deferToThread(closed, bare)
            if shut == len(bare):
                break
            yield deferLater(reactor, 0.25, lambda: None)
        self.assertEqual(shut, len(bare))
        self.assertEqual(counter.pending, 0)
        self.assertGreaterEqual(counter.handshake_failures, len(bare))

    @defer.inlineCallbacks
    def test_per_address_limit(self):  # type: ignore[no-untyped-def]
        """Past max_handshakes_per_address, bare sockets from one address are closed at once; another
        address (the legitimate client's) is served."""
        self.start(handshake_timeout=30, max_handshakes_per_address=50)
        try:
            bare = self.keep((yield deferToThread(open_bare, self.port, 200, "127.0.0.2")))
        except OSError as e:  # no 127.0.0.2 on this host
            self.skipTest(f"cannot bind 127.0.0.2: {e}")
        shut = 0
        for _ in range(40):
            yield deferLater(reactor, 0.1, lambda: None)
            shut = yield deferToThread(closed, bare)
            if shut >= 150:
                break
        self.assertEqual(shut, 150)
        self.assertEqual(self.service.factory.counter.pending, 50)
        answer = yield deferToThread(query, self.port, self.pki)
        self.assertEqual(results(answer)[0].status, ResultStatus.SUCCESS)
