"""A loopback TCP proxy that a test can freeze into a half-open peer.

Frozen, it still accepts connections but never answers: bytes from clients are swallowed,
new connections are never forwarded. Connections that were frozen stay dead after a thaw,
as a half-open connection does (the peer is gone, the client's socket does not know);
only new connections reach the upstream again.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Self

CHUNK = 65536


class FreezableProxy:
    """127.0.0.1:<port> -> ``upstream``; ``freeze()``/``thaw()``; ``close()`` ends every connection."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._frozen = threading.Event()
        self._closed = threading.Event()
        self._reset = threading.Event()
        self._reset_done = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = {self._listener}
        self._thread = threading.Thread(target=self._serve, name="freezable-proxy", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def freeze(self) -> None:
        self._frozen.set()

    def thaw(self) -> None:
        self._frozen.clear()

    def reset(self) -> None:
        """End every connection now (live or frozen), as a restarting peer does; new ones are served."""
        self._reset_done.clear()
        self._reset.set()
        self._reset_done.wait(timeout=5)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, None)
        while not self._closed.is_set():
            if self._reset.is_set():
                self._drop_all(selector)
            for key, _ in selector.select(timeout=0.1):
                if key.data is None:
                    self._accept(selector)
                else:
                    self._pump(selector, key.fileobj, key.data)  # type: ignore[arg-type]
        selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        client, _ = self._listener.accept()
        self._track(client)
        if self._frozen.is_set():
            selector.register(client, selectors.EVENT_READ, ("dead", None))  # swallowed forever
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self._track(upstream)
        selector.register(client, selectors.EVENT_READ, ("live", upstream))
        selector.register(upstream, selectors.EVENT_READ, ("live", client))

    def _pump(
        self, selector: selectors.BaseSelector, source: socket.socket, data: tuple[str, object]
    ) -> None:
        state, peer = data
        try:
            chunk = source.recv(CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(selector, source, peer if isinstance(peer, socket.socket) else None)
            return
        if state == "dead" or self._frozen.is_set():
            if state == "live":  # this connection is half-open from now on, both ways
                selector.modify(source, selectors.EVENT_READ, ("dead", None))
                if isinstance(peer, socket.socket):
                    selector.modify(peer, selectors.EVENT_READ, ("dead", None))
            return
        assert isinstance(peer, socket.socket)
        with contextlib.suppress(OSError):
            peer.sendall(chunk)

    def _drop(
        self, selector: selectors.BaseSelector, sock: socket.socket, peer: socket.socket | None
    ) -> None:
        for each in (sock, peer):
            if each is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(each)
            with contextlib.suppress(OSError):
                each.close()
            with self._lock:
                self._sockets.discard(each)

    def _drop_all(self, selector: selectors.BaseSelector) -> None:
        with self._lock:
            connections = [sock for sock in self._sockets if sock is not self._listener]
        for sock in connections:
            self._drop(selector, sock, None)
        self._reset.clear()
        self._reset_done.set()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
