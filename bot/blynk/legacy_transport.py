"""Legacy Blynk servers (self-hosted Blynk 0.x) through blynklib 0.2.6, on its own thread.

blynklib is a blocking, single-threaded library: its ``run()`` reads at most one
frame per call and every socket operation must happen on one thread. So this
transport owns one thread that connects (with backoff), calls ``run()``, and
sends the pin writes queued by other threads between two ``run()`` calls. Writes
made while offline keep the latest value per pin and go out after reconnecting.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import threading
from collections.abc import Sequence
from typing import Any

import blynklib

from bot.blynk.transport import WriteHandler, virtual_pin_number

log = logging.getLogger(__name__)

_STOP_JOIN_S = 10.0
_CONNECT_TIMEOUT_S = 5.0


class _Blynk(blynklib.Blynk):  # type: ignore[misc]
    """blynklib's client with two fixes for a long-running service.

    - blynklib 0.2.6 treats ``recv`` returning no bytes (the server closed the
      connection) like a read timeout, so a dropped connection went unnoticed until
      the heartbeat expired and writes in between were lost: now it is an error.
    - Its TCP connect has no timeout, so an unreachable server could hold the
      thread (and ``stop``) for minutes: now it gives up after a few seconds.
    """

    def _get_socket(self) -> None:
        try:
            self._state = self.CONNECTING
            sock = socket.create_connection((self.server, self.port), timeout=_CONNECT_TIMEOUT_S)
            sock.settimeout(self.SOCK_TIMEOUT)
            if self.ssl_cert:
                context = ssl.create_default_context(
                    cafile=None if self.ssl_cert == "default" else self.ssl_cert
                )
                sock.settimeout(self.SOCK_SSL_TIMEOUT)
                sock = context.wrap_socket(sock, server_hostname=self.server)
            self._socket = sock
        except Exception as err:
            raise blynklib.BlynkError(f"Connection with the Blynk server failed: {err}") from err

    def receive(self, length: int, timeout: float) -> bytes:
        try:
            self._socket.settimeout(timeout)
            data: bytes = self._socket.recv(length)
        except (TimeoutError, BlockingIOError):
            return b""
        except OSError as err:
            raise blynklib.BlynkError(f"connection lost: {err}") from err
        if not data:
            raise blynklib.BlynkError("connection closed by the server")
        return data[:length]


def _blynk_log(*args: Any) -> None:
    """blynklib's log hook: errors become warnings, chatter stays at debug level."""
    text = " ".join(str(arg) for arg in args).replace("\n", " ")
    if "[ERROR]" in text or "Invalid Auth Token" in text:
        log.warning("blynklib: %s", text)
    else:
        log.debug("blynklib: %s", text)


class BlynkLegacyTransport:
    """A ``BlynkTransport`` for legacy Blynk servers (binary protocol, virtual pins)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        auth_token: str,
        listen_pins: Sequence[str] = ("V0",),
        tls: bool = False,
        heartbeat_s: int = 10,
        reconnect_max_delay: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self._token = auth_token
        self._listen = {name: virtual_pin_number(name) for name in listen_pins}
        self._tls = tls
        self._heartbeat_s = heartbeat_s
        self._max_delay = reconnect_max_delay
        self._pending: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_write: WriteHandler | None = None

    # -- BlynkTransport ------------------------------------------------------------
    def start(self, on_write: WriteHandler) -> None:
        if self._thread is not None:
            return
        self._on_write = on_write
        self._stop.clear()
        blynk = self._make_client()
        self._thread = threading.Thread(
            target=self._run, args=(blynk,), name="blynk-legacy", daemon=True
        )
        self._thread.start()
        log.info("Blynk legacy connecting to %s:%s", self.host, self.port)

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join(_STOP_JOIN_S)
        if thread.is_alive():
            log.warning("Blynk legacy thread did not stop within %.0f s", _STOP_JOIN_S)
            return
        self._thread = None

    def write(self, pin: str, value: str) -> None:
        number = virtual_pin_number(pin)
        with self._lock:
            self._pending.pop(number, None)  # re-insert: keeps the order of the latest writes
            self._pending[number] = value

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def running(self) -> bool:
        """The transport's thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- the transport's thread ----------------------------------------------------------
    def _make_client(self) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):  # blynklib prints a logo
            blynk = _Blynk(
                self._token,
                server=self.host,
                port=self.port,
                ssl_cert="default" if self._tls else None,
                heartbeat=self._heartbeat_s,
                log=_blynk_log,
            )
        blynk._events = {}  # blynklib keeps handlers in a class-wide dict: make it ours
        blynk.RECONNECT_SLEEP = 0  # this thread does its own backoff on the stop event

        for name, number in self._listen.items():

            @blynk.handle_event(f"write V{number}")  # type: ignore[untyped-decorator]
            def _app_wrote(pin: int, values: list[str], name: str = name) -> None:
                self._deliver(name, values[0] if values else "")

        @blynk.handle_event("connect")  # type: ignore[untyped-decorator]
        def _connected() -> None:
            self._connected.set()
            log.info("Blynk legacy connected to %s:%s", self.host, self.port)

        @blynk.handle_event("disconnect")  # type: ignore[untyped-decorator]
        def _disconnected() -> None:
            if self._connected.is_set():
                log.warning("Blynk legacy disconnected from %s:%s", self.host, self.port)
            self._connected.clear()

        return blynk

    def _deliver(self, name: str, value: str) -> None:
        handler = self._on_write
        if handler is None:
            return
        try:
            handler(name, value)
        except Exception:
            log.exception("Blynk write handler for %s failed", name)

    def _run(self, blynk: Any) -> None:
        delay = 1.0
        while not self._stop.is_set():
            if not blynk.connected():
                if self._connect_once(blynk):
                    delay = 1.0
                else:
                    self._stop.wait(delay)
                    delay = min(delay * 2, self._max_delay)
                continue
            try:
                blynk.run()
            except Exception:
                log.exception("Blynk legacy loop failed; reconnecting")
                blynk.disconnect()
                continue
            if blynk.connected():
                self._flush(blynk)
        if blynk.connected():
            self._flush(blynk)
        self._connected.clear()  # a requested stop: no "disconnected" warning
        blynk.disconnect()
        log.info("Blynk legacy stopped")

    def _connect_once(self, blynk: Any) -> bool:
        try:
            return bool(blynk.connect(timeout=0))
        except Exception as err:  # blynklib lets socket errors escape from login
            log.warning("Blynk legacy connect to %s:%s failed: %s", self.host, self.port, err)
            blynk.disconnect()
            return False

    def _flush(self, blynk: Any) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for number, value in pending.items():
            blynk.virtual_write(number, value)
