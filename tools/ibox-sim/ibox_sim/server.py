"""Serving the simulator: one uvicorn server per system port, all in one event loop.

:class:`SimulatorServer` is the in-process API for tests and the demo::

    with SimulatorServer(systems=2) as sim:          # background thread, free ports
        sim.systems[0].url, sim.sim.world, sim.clock

    async with SimulatorServer(systems=2) as sim:    # in the running event loop
        ...

The CLI (:mod:`ibox_sim.cli`) uses the same class with fixed ports.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from ibox_sim import persistence
from ibox_sim.admin import create_admin_app
from ibox_sim.api import RestApi
from ibox_sim.app import SystemApp
from ibox_sim.clock import Clock
from ibox_sim.config import DEFAULT_PASSWORD, DEFAULT_USERNAME, SimConfig
from ibox_sim.simulator import Simulator

_START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """Where one simulated system answers."""

    name: str
    url: str
    serial: int
    host: str
    port: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "serial": self.serial}


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (port 0: a free one chosen by the OS), ready for the server to listen on."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class SimulatorServer:
    """Serves a :class:`Simulator` over HTTP(S), one port per system.

    ``base_port=None`` picks free ports (tests); otherwise system K listens on
    ``base_port + K - 1``. With ``state_file`` the world is loaded at start and saved
    (debounced, and on stop).
    """

    def __init__(
        self,
        systems: int = 2,
        *,
        host: str = "127.0.0.1",
        base_port: int | None = None,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        initial_sync_seconds: float | None = None,
        config: SimConfig | None = None,
        clock: Clock | None = None,
        state_file: str | Path | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        seed: int | None = None,
        save_interval: float = 0.5,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both a certificate and a key")
        cfg = (config or SimConfig()).model_copy()
        if initial_sync_seconds is not None:
            cfg.initial_sync_seconds = initial_sync_seconds
        self.host = host
        self.base_port = base_port
        self.state_file = Path(state_file) if state_file is not None else None
        self.tls_cert = str(tls_cert) if tls_cert is not None else None
        self.tls_key = str(tls_key) if tls_key is not None else None
        self.save_interval = save_interval
        sim_kwargs: dict[str, Any] = {"username": username, "password": password, "config": cfg, "seed": seed}
        if clock is not None:
            sim_kwargs["clock"] = clock
        self.sim = Simulator(systems, **sim_kwargs)
        if self.state_file is not None:
            loaded = persistence.load(self.state_file, self.sim.clock)
            if loaded is not None:
                if len(loaded.systems) != systems:
                    raise ValueError(
                        f"state file {self.state_file} holds {len(loaded.systems)} systems, not {systems}"
                    )
                self.sim = Simulator(
                    systems,
                    world=loaded,
                    clock=self.sim.clock,
                    **{k: v for k, v in sim_kwargs.items() if k != "clock"},
                )
        self.api = RestApi(self.sim)
        self.systems: list[SystemInfo] = []
        self._servers: list[tuple[uvicorn.Server, socket.socket]] = []
        self._saver: persistence.DebouncedSaver | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # -- information

    @property
    def clock(self) -> Clock:
        return self.sim.clock

    def system(self, name: str) -> SystemInfo:
        for info in self.systems:
            if info.name == name:
                return info
        raise KeyError(name)

    def url(self, name: str) -> str:
        return self.system(name).url

    def ready_info(self) -> dict[str, Any]:
        return {"systems": [info.as_dict() for info in self.systems]}

    def ready_line(self) -> str:
        """The one JSON line the CLI prints when every port answers."""
        return json.dumps(self.ready_info())

    # -- lifecycle in the running loop

    async def start(self) -> None:
        names = self.sim.system_names
        sockets: list[socket.socket] = []
        try:
            for index, _ in enumerate(names):
                port = 0 if self.base_port is None else self.base_port + index
                sockets.append(bind_socket(self.host, port))
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        scheme = "https" if self.tls_cert else "http"
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.systems = []
        for name, sock in zip(names, sockets, strict=True):
            port = sock.getsockname()[1]
            serial = self.sim.world.systems[name].serial
            self.systems.append(SystemInfo(name, f"{scheme}://{url_host}:{port}", serial, self.host, port))
        admin = create_admin_app(self.sim, lambda: [info.as_dict() for info in self.systems])
        try:
            for name, sock in zip(names, sockets, strict=True):
                app = SystemApp(self.sim, self.api, name, admin, secure=self.tls_cert is not None)
                config = uvicorn.Config(
                    app,
                    lifespan="off",
                    log_config=None,
                    access_log=False,
                    ssl_certfile=self.tls_cert,
                    ssl_keyfile=self.tls_key,
                    timeout_graceful_shutdown=2,
                    timeout_keep_alive=30,
                    server_header=False,
                    date_header=False,
                )
                config.load()
                server = uvicorn.Server(config)
                server.lifespan = config.lifespan_class(config)
                await server.startup(sockets=[sock])
                self._servers.append((server, sock))
        except BaseException:
            await self.stop()
            for sock in sockets:
                sock.close()
            raise
        if self.state_file is not None:
            self._saver = persistence.DebouncedSaver(self.sim, self.state_file, self.save_interval)
            self._saver.start()

    async def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*(server.shutdown(sockets=[sock]) for server, sock in servers))
        if self._saver is not None:
            saver, self._saver = self._saver, None
            await saver.stop()

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- lifecycle in a background thread

    def __enter__(self) -> SimulatorServer:
        self._started.clear()
        self._error = None
        self._thread = threading.Thread(target=self._thread_main, name="ibox-sim", daemon=True)
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT):
            raise TimeoutError("the simulator did not start")
        if self._error is not None:
            self._thread.join(_START_TIMEOUT)
            raise self._error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT)
            self._thread = None

    def _thread_main(self) -> None:
        asyncio.run(self._run_in_thread())

    async def _run_in_thread(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.start()
        except BaseException as error:  # handed to the caller of __enter__
            self._error = error
            self._started.set()
            return
        self._started.set()
        await self._stop.wait()
        await self.stop()
