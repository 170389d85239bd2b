"""Tests for tokenmeter.health."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tokenmeter.health import HealthServer


async def _get(port: int, path: str) -> tuple[str, dict[str, Any]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return head.splitlines()[0], json.loads(body)


async def test_healthz_reports_links_and_status() -> None:
    """/healthz answers 200 with the probe's links when ok, 503 when not."""
    state: dict[str, Any] = {"ok": True, "links": {"mqtt": {"connected": True}}}
    server = HealthServer(lambda: state, port=0)
    await server.start()
    try:
        status, body = await _get(server.port, "/healthz")
        assert status.endswith("200 OK")
        assert body["links"]["mqtt"]["connected"] is True
        state["ok"] = False
        status, _ = await _get(server.port, "/healthz")
        assert "503" in status
        status, body = await _get(server.port, "/other")
        assert "404" in status and body == {"error": "not found"}
    finally:
        await server.stop()
