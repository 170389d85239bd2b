"""``GET /healthz``: a tiny HTTP endpoint on the service's loop with each link's state."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from tokenmeter.errors import PortUnavailable

log = logging.getLogger(__name__)

HealthProbe = Callable[[], dict[str, Any]]
"""Returns ``{"ok": bool, "links": {name: {...}}}``; must be cheap and non-blocking."""


class HealthServer:
    """Serves ``/healthz`` (200 when ok, 503 otherwise) on host:port; port 0 = any free port."""

    def __init__(self, probe: HealthProbe, host: str = "127.0.0.1", port: int = 8765) -> None:
        self._probe = probe
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; a port that is taken (or an address that is not this machine's) raises
        ``PortUnavailable``."""
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as err:
            raise PortUnavailable(err.strerror or str(err), host=self.host, port=self.port) from err
        sockets = self._server.sockets or ()
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("health endpoint on http://%s:%d/healthz", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            parts = request.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/healthz":
                body = self._probe()
                status = "200 OK" if body.get("ok") else "503 Service Unavailable"
            else:
                body, status = {"error": "not found"}, "404 Not Found"
            data = json.dumps(body, default=str).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        except Exception:
            log.exception("health request failed")
        finally:
            writer.close()
