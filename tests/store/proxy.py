"""A TCP proxy on 127.0.0.1 that tests put between kmipd and a database server.

It passes bytes both ways, refuses (closes every connection, old and new), or freezes: stops
forwarding without closing anything, as a partitioned network or a stuck load balancer does.
The TCP handshake with the proxy still succeeds while frozen (the kernel accepts into the
backlog), so only deadlines kept by kmipd itself can end a wait. Runs in its own thread.
"""

from __future__ import annotations

import selectors
import socket
import threading


class ControlledProxy:
    """Forward 127.0.0.1:C{port} to C{(host, target_port)}; see the module docstring."""

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._mode = "pass"
        self._changed = threading.Condition()
        self._running = True
        #: Connections accepted so far.
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, name="test-db-proxy", daemon=True)
        self._thread.start()

    # -- control -----------------------------------------------------------------
    def _set(self, mode: str) -> None:
        with self._changed:
            self._mode = mode
            self._changed.notify_all()

    def pass_through(self) -> None:
        """Forward again (after a freeze, everything held is delivered)."""
        self._set("pass")

    def freeze(self) -> None:
        """Stop forwarding in both directions; close nothing."""
        self._set("freeze")

    def refuse(self) -> None:
        """Close every open connection and every new one."""
        self._set("refuse")

    def close(self) -> None:
        """Stop the proxy and close all its sockets."""
        with self._changed:
            self._running = False
            self._changed.notify_all()
        self._thread.join(5)
        for s in list(self._peers):
            s.close()
        self._listener.close()
        self._sel.close()

    # -- loop ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._changed:
                while self._running and self._mode == "freeze":
                    self._changed.wait()
                if not self._running:
                    return
                mode = self._mode
            if mode == "refuse":
                for s in list(self._peers):
                    self._drop(s)
            for key, _ in self._sel.select(0.02):
                if key.fileobj is self._listener:
                    self._accept(mode)
                else:
                    self._forward(key.fileobj)  # type: ignore[arg-type]

    def _accept(self, mode: str) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        self.accepted += 1
        if mode == "refuse":
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for s in (client, upstream):
            s.setblocking(True)
            s.settimeout(5)
        self._peers[client], self._peers[upstream] = upstream, client
        self._sel.register(client, selectors.EVENT_READ, None)
        self._sel.register(upstream, selectors.EVENT_READ, None)

    def _forward(self, source: socket.socket) -> None:
        peer = self._peers.get(source)
        if peer is None:
            return
        try:
            data = source.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        self._drop(source)

    def _drop(self, s: socket.socket) -> None:
        peer = self._peers.pop(s, None)
        for x in (s, peer):
            if x is None:
                continue
            self._peers.pop(x, None)
            try:
                self._sel.unregister(x)
            except (KeyError, ValueError):
                pass
            x.close()
