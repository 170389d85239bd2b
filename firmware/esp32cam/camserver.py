# ESP32-CAM: the OV2640 behind a small wrapper, and a plain-socket HTTP server
# with GET /capture (JPEG, ?flash=0|1) and GET /status (JSON).
#
# Camera module: lemariva/micropython-camera-driver firmware ("camera" module:
# camera.init(0, format=camera.JPEG, fb_location=camera.PSRAM), framesize, quality,
# capture, deinit). The frame is a bytes copy; it is dropped and gc.collect()ed
# after every request so the heap never holds two frames.
import gc
import json
import socket
import time

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}
_MAX_REQUEST = 1024


class CameraDriver:
    """``camera_module`` is the firmware's ``camera`` module (or a fake)."""

    def __init__(self, camera_module, *, framesize="SVGA", quality=12, init_attempts=3):
        self._camera = camera_module
        self.framesize = framesize
        self.quality = quality
        self._init_attempts = init_attempts
        self.ready = False

    def init(self):
        cam = self._camera
        for attempt in range(self._init_attempts):
            try:
                if attempt:
                    cam.deinit()
                    time.sleep_ms(200)
                if cam.init(0, format=cam.JPEG, fb_location=cam.PSRAM):
                    cam.framesize(getattr(cam, "FRAME_" + self.framesize))
                    cam.quality(self.quality)
                    self.ready = True
                    return True
            except Exception as exc:
                print("camera: init failed:", repr(exc))
        self.ready = False
        return False

    def capture(self):
        """One JPEG frame (bytes) or None; re-initialises the camera once on failure."""
        for _ in range(2):
            if not self.ready and not self.init():
                return None
            try:
                frame = self._camera.capture()
            except Exception as exc:
                print("camera: capture failed:", repr(exc))
                frame = None
            if frame and frame[:2] == b"\xff\xd8":
                return frame
            frame = None
            self.ready = False
            gc.collect()
        return None


def _query(text):
    params = {}
    for part in text.split("&"):
        if part:
            key, _, value = part.partition("=")
            params[key] = value
    return params


def _write(sock, data):
    writer = getattr(sock, "write", None)  # MicroPython streams; CPython has sendall
    if writer is None:
        sock.sendall(data)
    else:
        writer(data)


class CaptureServer:
    """Serve one request at a time; ``serve_once()`` returns after at most
    ``accept_timeout_s`` when nobody connects, so the caller's loop keeps running."""

    def __init__(
        self,
        camera,
        flash_pin,
        *,
        port=80,
        flash_default=True,
        flash_warmup_ms=150,
        accept_timeout_s=0.2,
        client_timeout_s=5,
        status_extra=None,
        version="0",
    ):
        self.camera = camera
        self.flash_pin = flash_pin
        self.port = port
        self.flash_default = flash_default
        self.flash_warmup_ms = flash_warmup_ms
        self._accept_timeout_s = accept_timeout_s
        self._client_timeout_s = client_timeout_s
        self.status_extra = status_extra
        self.version = version
        self.captures = 0
        self.failures = 0
        self.started_ms = time.ticks_ms()
        self._sock = None
        flash_pin.value(0)

    def open(self, host="0.0.0.0"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(socket.getaddrinfo(host, self.port)[0][-1])
        sock.listen(2)
        sock.settimeout(self._accept_timeout_s)
        self._sock = sock
        if not self.port:
            self.port = sock.getsockname()[1]
        return self.port

    def close(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def serve_once(self):
        try:
            client, _addr = self._sock.accept()
        except OSError:
            return False  # timeout: nobody asked
        try:
            client.settimeout(self._client_timeout_s)
            self._handle(client)
        except Exception as exc:
            print("http: request failed:", repr(exc))
        finally:
            client.close()
            gc.collect()
        return True

    def _handle(self, client):
        request = b""
        while b"\r\n\r\n" not in request and len(request) < _MAX_REQUEST:
            chunk = client.recv(256)
            if not chunk:
                break
            request += chunk
        line = request.split(b"\r\n", 1)[0].decode()
        parts = line.split(" ")
        if len(parts) < 2 or parts[0] != "GET":
            self._reply(client, 400, "text/plain", b"GET only\n")
            return
        path, _, query = parts[1].partition("?")
        if path == "/capture":
            self._capture(client, _query(query))
        elif path == "/status":
            body = json.dumps(self.status()).encode()
            self._reply(client, 200, "application/json", body)
        else:
            self._reply(client, 404, "text/plain", b"not found\n")

    def _capture(self, client, params):
        flash = params.get("flash")
        if flash not in (None, "0", "1"):
            self._reply(client, 400, "text/plain", b"flash=0 or flash=1\n")
            return
        use_flash = self.flash_default if flash is None else flash == "1"
        frame = None
        try:
            if use_flash:
                self.flash_pin.value(1)
                time.sleep_ms(self.flash_warmup_ms)
            frame = self.camera.capture()
        finally:
            self.flash_pin.value(0)
        if frame is None:
            self.failures += 1
            self._reply(client, 503, "text/plain", b"camera unavailable\n")
            return
        self.captures += 1
        try:
            self._reply(client, 200, "image/jpeg", frame)
        finally:
            frame = None  # drop the only reference: the frame buffer is freed
            gc.collect()

    def _reply(self, client, code, content_type, body):
        head = (
            f"HTTP/1.1 {code} {_REASONS.get(code, '')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        _write(client, head.encode())
        _write(client, body)

    def status(self):
        info = {
            "online": True,
            "device": "camera",
            "version": self.version,
            "camera": self.camera.ready,
            "framesize": self.camera.framesize,
            "captures": self.captures,
            "failures": self.failures,
            "uptime_s": time.ticks_diff(time.ticks_ms(), self.started_ms) // 1000,
            "free": gc.mem_free(),
        }
        if self.status_extra:
            info.update(self.status_extra())
        return info
