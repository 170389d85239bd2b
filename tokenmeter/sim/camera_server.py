"""The simulated meter served as an HTTP camera, like an ESP32-CAM.

``GET /capture`` answers a JPEG of the display (``flash`` is accepted, and kept in
``flashes`` so that tests see what the camera was asked; the drawing ignores it);
``GET /status`` answers ``{"online": true, "meter": ...}``. Standard library only.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tokenmeter.sim.meter import SimulatedMeter

log = logging.getLogger(__name__)


class _CameraHandler(BaseHTTPRequestHandler):
    server: SimulatedCameraServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path in ("/capture", "/capture.jpg", "/jpg"):
            self.server.flashes.append(dict(parse_qsl(parts.query)).get("flash"))
            try:
                body = self.server.meter.photo_jpeg()
            except Exception:
                log.exception("simulated camera could not draw the display")
                self._send(500, "text/plain", b"capture failed")
                return
            self._send(200, "image/jpeg", body)
        elif path == "/status":
            status = {"online": True, "meter": self.server.meter.meter_id, "device": "camera"}
            self._send(200, "application/json", json.dumps(status).encode())
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("simulated camera: " + format, *args)


class SimulatedCameraServer(ThreadingHTTPServer):
    """``SimulatedCameraServer(meter, port=0).start()``; ``url`` is the capture URL."""

    daemon_threads = True

    def __init__(self, meter: SimulatedMeter, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _CameraHandler)
        self.meter = meter
        self.flashes: list[str | None] = []  # the flash parameter of each capture asked
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]!s}:{self.port}/capture"

    def start(self) -> SimulatedCameraServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name="sim-camera", kwargs={"poll_interval": 0.2}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()
