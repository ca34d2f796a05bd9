"""The endpoints a standby serves while kopf is not running: /healthz and /metrics.

kopf's liveness endpoint and the operator's metrics server only start with the operator, once
this process leads. A standby is healthy (it must not be restarted by its liveness probe) and
reports ``replica_operator_leader 0``, so it serves both itself, with the standard library and
prometheus_client's handler, and closes them before the operator binds the same ports (for the
second or so kopf takes to start, the ports do not answer; the probes' thresholds cover that).
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import MetricsHandler

#: What a standby's /healthz answers (kopf's endpoint, on the leader, answers its probes instead).
STANDBY_HEALTHZ = b'{"standby": true}'


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/healthz":
            self.send_error(404)
            return
        body = STANDBY_HEALTHZ
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """A probe every few seconds is not worth a log line."""


class StandbyEndpoints:
    """/healthz on the liveness port and /metrics on the metrics port (None: that one is off)."""

    def __init__(self, address: str, liveness_port: int | None, metrics_port: int | None) -> None:
        self._wanted = [
            (port, handler)
            for port, handler in ((liveness_port, _Healthz), (metrics_port, MetricsHandler))
            if port
        ]
        self._address = address
        self._servers: list[ThreadingHTTPServer] = []

    def start(self) -> None:
        for port, handler in self._wanted:
            server = ThreadingHTTPServer((self._address, port), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"standby-{port}", daemon=True).start()
            self._servers.append(server)

    def close(self) -> None:
        """Stop serving and free the ports for kopf and the operator's metrics server."""
        for server in self._servers:
            with contextlib.suppress(OSError):
                server.shutdown()
                server.server_close()
        self._servers.clear()
