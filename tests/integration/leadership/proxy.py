"""A loopback HTTP proxy in front of the real API server: it records every request of the one
process that uses it (the audit of a standby) and can black-hole them (an unreachable server).

The process under test gets a kubeconfig naming ``http://127.0.0.1:<port>`` without credentials;
the proxy forwards each request over TLS with the cluster's admin client certificate, streaming
the answer (watches included). Black-holed, it keeps every connection open and answers nothing,
and stops relaying the streams already open: a half-open server, as a network partition looks.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from controlplane.cluster import free_port

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


@dataclass(frozen=True)
class Seen:
    """One request as the proxy received it (wall clock, as the simulator's log)."""

    at: float
    method: str
    path: str


def _tls_context(kubeconfig: dict[str, Any], scratch: Path) -> ssl.SSLContext:
    cluster, user = kubeconfig["clusters"][0]["cluster"], kubeconfig["users"][0]["user"]
    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
    )
    cert, key = scratch / "client.crt", scratch / "client.key"
    cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
    key.write_bytes(base64.b64decode(user["client-key-data"]))
    context.load_cert_chain(cert, key)
    return context


class ApiProxy:
    """Start with ``running(kubeconfig)``; ``seen`` is the log; ``blackhole()`` cuts the server off."""

    def __init__(self, admin_kubeconfig: Path, scratch: Path) -> None:
        config = yaml.safe_load(admin_kubeconfig.read_text())
        self._upstream = config["clusters"][0]["cluster"]["server"].rstrip("/")
        self._tls = _tls_context(config, scratch)
        self.port = free_port()
        self.seen: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._cut = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="api-proxy", daemon=True)
        self.kubeconfig = scratch / "proxied.kubeconfig"
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "proxy", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
                    "users": [{"name": "proxy", "user": {}}],
                    "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}],
                    "current-context": "proxy",
                }
            )
        )

    def blackhole(self) -> float:
        """From now on nothing gets through; the time it began."""
        self._cut.set()
        return time.time()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the API proxy did not start")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._tls), timeout=aiohttp.ClientTimeout(total=None)
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _hang(self) -> None:
        """Never answer: wait on an event nobody sets, until the proxy closes (its loop stops)."""
        await asyncio.Event().wait()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(time.time(), request.method, request.path_qs))
        if self._cut.is_set():
            await self._hang()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        async with self._session.request(
            request.method,
            self._upstream + request.path_qs,
            headers=headers,
            data=body or None,
            skip_auto_headers=("Content-Type",),  # as sent: the Kubernetes client may send none
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    response.headers[key] = value
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                if self._cut.is_set():
                    await self._hang()
                await response.write(chunk)
            await response.write_eof()
            return response

    def close(self) -> None:
        """Stop serving, cancel the requests held by a black hole, close the loop."""

        async def stop() -> None:
            await self._runner.cleanup()
            await self._session.close()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextmanager
def running(admin_kubeconfig: Path) -> Iterator[ApiProxy]:
    with tempfile.TemporaryDirectory(prefix="api-proxy-") as scratch:
        proxy = ApiProxy(admin_kubeconfig, Path(scratch))
        proxy.start()
        try:
            yield proxy
        finally:
            proxy.close()
