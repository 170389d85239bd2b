"""A local legacy Blynk server speaking the binary protocol blynklib 0.2.6 talks.

Frame: ``cmd`` (1 byte), ``msg_id`` (2 bytes), then the body length — or, in a
response (cmd 0), the status — (2 bytes), big-endian; body fields are separated
by ``\\0``. The server answers login (cmd 2, or 29 = hw_login) with status 200 (9
for a wrong token), internal (17: heartbeat and buffer settings) and ping (6)
with 200, records the device's hardware writes (20, ``vw\\0pin\\0value``) and
delivers app writes to the device as hardware frames.

blynklib parses only the first frame of every ``recv``, so the server sends one
frame per ``send`` and leaves a short gap between frames.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field

MSG_RSP = 0
MSG_LOGIN = 2
MSG_PING = 6
MSG_INTERNAL = 17
MSG_HW = 20
MSG_HW_LOGIN = 29
STATUS_OK = 200
STATUS_INVALID_TOKEN = 9
HEADER = struct.Struct("!BHH")
FRAME_GAP_S = 0.12


def pack(cmd: int, msg_id: int, *fields: str) -> bytes:
    body = "\0".join(fields).encode("utf-8")
    return HEADER.pack(cmd, msg_id, len(body)) + body


def response(msg_id: int, status: int) -> bytes:
    return HEADER.pack(MSG_RSP, msg_id, status)


@dataclass(eq=False)
class _Device:
    sock: socket.socket
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_send: float = 0.0
    ready: bool = False

    def send(self, frame: bytes) -> None:
        with self.lock:
            wait = self.last_send + FRAME_GAP_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.sock.sendall(frame)
            self.last_send = time.monotonic()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        device = _Device(self.request)
        blynk = self.server.owner
        if not blynk.accepting:
            return  # closes the connection at once, like a server going down
        buffer = b""
        try:
            while True:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                buffer += chunk
                while len(buffer) >= HEADER.size:
                    cmd, msg_id, length = HEADER.unpack_from(buffer)
                    if cmd == MSG_RSP:  # a response carries a status, no body
                        buffer = buffer[HEADER.size :]
                        continue
                    if len(buffer) < HEADER.size + length:
                        break
                    body = buffer[HEADER.size : HEADER.size + length]
                    buffer = buffer[HEADER.size + length :]
                    fields = body.decode("utf-8").split("\0")
                    if not blynk.handle_frame(device, cmd, msg_id, fields):
                        return
        except OSError:
            return
        finally:
            blynk.forget(device)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LegacyBlynkServer


class LegacyBlynkServer:
    """Start with ``with LegacyBlynkServer(token) as server:``; port is free-chosen."""

    def __init__(self, auth_token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.auth_token = auth_token
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        address = self._server.server_address
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self._lock = threading.Lock()
        self._devices: list[_Device] = []
        self._next_id = 0
        self.accepting = True  # False: new connections are closed at once
        self.logins = 0
        self.refused_logins = 0
        self.pings = 0
        self.internal: list[list[str]] = []
        self.device_writes: list[tuple[int, str]] = []
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> LegacyBlynkServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.drop_devices()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> LegacyBlynkServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the tests do ---------------------------------------------------------
    @property
    def device_ready(self) -> bool:
        """A device is logged in and has sent its heartbeat settings."""
        with self._lock:
            return any(d.ready for d in self._devices)

    def app_write(self, pin: int, value: str) -> None:
        """The app writes ``value`` to virtual pin ``pin``: deliver it to the devices."""
        with self._lock:
            devices = [d for d in self._devices if d.ready]
            self._next_id = self._next_id % 0xFFFF + 1
            frame = pack(MSG_HW, self._next_id, "vw", str(pin), value)
        if not devices:
            raise RuntimeError("no device is connected")
        for device in devices:
            device.send(frame)

    def values(self, pin: int) -> list[str]:
        """Everything the device wrote to ``pin``, oldest first."""
        with self._lock:
            return [value for p, value in self.device_writes if p == pin]

    def drop_devices(self) -> None:
        """Cut every device connection (the server keeps listening)."""
        with self._lock:
            devices, self._devices = self._devices, []
        for device in devices:
            with contextlib.suppress(OSError):
                device.sock.shutdown(socket.SHUT_RDWR)
            device.sock.close()

    # -- protocol (handler threads) --------------------------------------------------------
    def handle_frame(self, device: _Device, cmd: int, msg_id: int, fields: list[str]) -> bool:
        if cmd in (MSG_LOGIN, MSG_HW_LOGIN):
            if fields[0] != self.auth_token:
                with self._lock:
                    self.refused_logins += 1
                device.send(response(msg_id, STATUS_INVALID_TOKEN))
                return False
            with self._lock:
                self.logins += 1
                self._devices.append(device)
            device.send(response(msg_id, STATUS_OK))
        elif cmd == MSG_INTERNAL:
            with self._lock:
                self.internal.append(fields)
            device.send(response(msg_id, STATUS_OK))
            device.ready = True
        elif cmd == MSG_PING:
            with self._lock:
                self.pings += 1
            device.send(response(msg_id, STATUS_OK))
        elif cmd == MSG_HW and len(fields) >= 3 and fields[0] == "vw":
            with self._lock:
                self.device_writes.append((int(fields[1]), fields[2]))
        return True

    def forget(self, device: _Device) -> None:
        with self._lock:
            if device in self._devices:
                self._devices.remove(device)
