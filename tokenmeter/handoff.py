"""The local channel by which ``tokenmeter topup`` hands a top-up to a running service.

A running service owns the keypad link, the open top-ups and the Telegram door. A
``tokenmeter topup`` that drove the keypad itself would do it beside the service (and,
with ``mqtt.url`` empty, on a broker of its own that no keypad listens on), the owner
would hear nothing on Telegram, and a queued token would wait for nobody. So
``serve`` listens on ``topup-handoff.sock`` beside the data (the folder of
``store.sqlite_path``, where the token vault is) and the CLI hands its top-up over
whenever that socket answers; the service announces it, types or queues it, and
streams the stages back.

Why a Unix socket rather than an HTTP path on ``/healthz``: the token crosses it in
clear, and a Unix socket never leaves the machine whatever ``service.health_host``
says; it is found from the data folder the CLI already uses (no port to agree on,
none that a stranger could hold after the service died); and its mode, 0600, lets
only the service's user connect. The channel is authenticated on top of that: a
random secret, new at every start, is written to ``topup-handoff.secret`` (0600)
beside it, and a request that does not carry it is refused before its token is
looked at. A socket file that does not answer was left by a killed service: the CLI
then works alone, and the next service start replaces it.

The protocol is one JSON object per line. The request:
``{"secret", "meter", "token", "lang"}``. The answers: ``{"say": line}`` for each
stage (the lines ``tokenmeter.commands.progress`` prints), ``{"accepted": topup}``
once the top-up is stored, and last ``{"done": topup}`` (final, ``QUEUED``, or open
without an answer, as ``TopUpService.wait`` returns) or ``{"refused": error}``
(``code``, ``reason``, ``detail``, ``params`` of a ``TokenmeterError``; nothing typed).
A top-up is ``{"id", "meter", **topup_to_dict}``; the token only ever appears masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from tokenmeter.commands.progress import TopUpStages
from tokenmeter.config import Config
from tokenmeter.domain import TopUp, mask_token, validate_token
from tokenmeter.errors import InvalidToken, TokenmeterError
from tokenmeter.events import Event, EventBus, Notifier, TopUpChanged
from tokenmeter.services.api import TopUps
from tokenmeter.store.records import topup_from_dict, topup_to_dict
from tokenmeter.texts import Lang

log = logging.getLogger(__name__)

SOCKET_FILE = "topup-handoff.sock"
SECRET_FILE = "topup-handoff.secret"
MAX_REQUEST_BYTES = 4096  # one request line; a token request is about 150 bytes
MAX_ANSWER_BYTES = 64 * 1024  # one answer line (a top-up with its history)
REQUEST_WAIT_S = 5.0  # a client that sends nothing in this time is dropped
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the closing NUL (Linux)
REFUSED_SECRET = "handoff_refused"


def socket_path(config: Config) -> Path:
    return config.store.sqlite_path.parent / SOCKET_FILE


def secret_path(config: Config) -> Path:
    return config.store.sqlite_path.parent / SECRET_FILE


def topup_wait_s(config: Config) -> float:
    """How long a top-up may take from stored to its result: the keypad's answer,
    the settle and two checks with their retries, and a margin."""
    one_check = config.checks.camera_timeout_s * (1 + config.checks.camera_retries) * 2
    return config.topup.result_timeout_s + config.topup.settle_s + 2 * one_check + 15


def topup_to_wire(topup: TopUp) -> dict[str, Any]:
    return {"id": topup.id, "meter": topup.meter_id, **topup_to_dict(topup)}


def topup_from_wire(data: dict[str, Any]) -> TopUp:
    return topup_from_dict(str(data["meter"]), str(data["id"]), data)


def error_to_wire(err: TokenmeterError) -> dict[str, Any]:
    """A refusal for the client; ``detail`` is left out for a token (it could echo it)."""
    reason = getattr(err, "reason", "")
    params = {k: v for k, v in err.params.items() if isinstance(v, str | int | float)}
    return {
        "code": err.code,
        "reason": reason if isinstance(reason, str) else "",
        "detail": "" if isinstance(err, InvalidToken) else err.detail,
        "params": params,
    }


class OneTopUp:
    """A ``Notifier`` that passes on only the events of one top-up (and its meter's
    balance reads): until its id is known, a top-up with its masked token."""

    def __init__(self, inner: Notifier, meter_id: str, masked: str) -> None:
        self.inner = inner
        self.meter_id = meter_id
        self.masked = masked
        self.topup_id = ""

    async def notify(self, event: Event) -> None:
        if isinstance(event, TopUpChanged):
            topup = event.topup
            ours = topup.id == self.topup_id if self.topup_id else topup.masked == self.masked
            if not ours or topup.meter_id != self.meter_id:
                return
        await self.inner.notify(event)


class TopUpHandoff:
    """Takes top-ups from ``tokenmeter topup`` on the socket beside the data. Never
    fatal: a socket that cannot be made is logged and the CLI then works alone."""

    def __init__(self, config: Config, topups: TopUps, bus: EventBus) -> None:
        self.config = config
        self.topups = topups
        self.bus = bus
        self.path = socket_path(config)
        self.secret_path = secret_path(config)
        self._secret = b""
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[Any]] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if len(os.fsencode(self.path)) > SOCKET_PATH_MAX:
            log.warning("top-up hand-off off: the path %s is too long for a socket", self.path)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if await _answers(self.path):
                log.warning(
                    "another service takes top-ups at %s; this one does not take it over",
                    self.path,
                )
                return
            self._secret = secrets.token_hex(32).encode("ascii")
            _write_private(self.secret_path, self._secret)
            listener = _bind_private(self.path)
            self._server = await asyncio.start_unix_server(
                self._handle, sock=listener, limit=MAX_REQUEST_BYTES
            )
        except OSError as err:
            log.warning("top-up hand-off off: %s (%s)", err.strerror or err, self.path)
            self._remove_files()
            return
        log.info("top-ups from the command line are taken at %s", self.path)

    async def stop(self) -> None:
        """Stop listening; a top-up being handed over keeps its stored state."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        await server.wait_closed()
        self._remove_files()

    def _remove_files(self) -> None:
        for path in (self.path, self.secret_path):
            with contextlib.suppress(OSError):
                path.unlink()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._serve(reader, writer)
            await writer.drain()
        except (ConnectionError, TimeoutError):
            log.info("a top-up hand-off ended early: the command went away")
        except Exception:
            log.exception("top-up hand-off failed")
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await self._request(reader, writer)
        if request is None:
            return
        meter_id, token = str(request.get("meter", "")), str(request.get("token", ""))
        lang: Lang = "en" if request.get("lang") == "en" else "id"

        def send(message: dict[str, Any]) -> None:
            if not writer.is_closing():
                writer.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")

        try:
            meter = self.config.meter(meter_id)
            stages = OneTopUp(
                TopUpStages(meter.id, lang, lambda line: send({"say": line})),
                meter.id,
                mask_token(validate_token(token)),
            )
            self.bus.subscribe(stages)
            try:
                started = await self.topups.start(meter.id, token, "cli")
                stages.topup_id = started.id
                send({"accepted": topup_to_wire(started)})
                log.info("top-up %s taken from the command line", started.id)
                final = await self._wait(reader, meter.id, started.id)
            finally:
                self.bus.unsubscribe(stages)
        except TokenmeterError as err:
            send({"refused": error_to_wire(err)})
            return
        if final is not None:
            send({"done": topup_to_wire(final)})

    async def _request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> dict[str, Any] | None:
        """The request when it is well formed and carries the secret; else refused.
        A connection closed without a word (another service looking) is no request."""
        try:
            line = await asyncio.wait_for(reader.readline(), REQUEST_WAIT_S)
            if not line:
                return None
            request = json.loads(line)
        except (ValueError, RecursionError):  # too long, not JSON, too deep
            request = None
        authentic = isinstance(request, dict) and hmac.compare_digest(
            str(request.get("secret", "")).encode(), self._secret
        )
        if isinstance(request, dict) and authentic:
            return request
        log.warning("a top-up hand-off was refused: no valid secret")
        refusal = {"code": REFUSED_SECRET, "reason": "secret", "detail": "", "params": {}}
        writer.write(json.dumps({"refused": refusal}).encode() + b"\n")
        return None

    async def _wait(
        self, reader: asyncio.StreamReader, meter_id: str, topup_id: str
    ) -> TopUp | None:
        """The top-up's result, or None when the command went away first or the result
        could not be read (the top-up goes on in the service all the same)."""
        result = asyncio.ensure_future(
            self.topups.wait(meter_id, topup_id, topup_wait_s(self.config))
        )
        gone = asyncio.ensure_future(reader.read(1))  # the command sends nothing more
        try:
            await asyncio.wait({result, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not result.done():
                result.cancel()
            await asyncio.gather(result, gone, return_exceptions=True)
        if result.cancelled():
            log.info("top-up %s: the command went away; the service goes on with it", topup_id)
            return None
        error = result.exception()
        if error is not None:
            log.warning("top-up %s: its result could not be read (%s)", topup_id, error)
            return None
        return result.result()


async def _answers(path: Path) -> bool:
    """Whether something listens on the Unix socket ``path``."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def _write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path``, mode 0600 from the start, replacing an older file."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _bind_private(path: Path) -> socket.socket:
    """A Unix socket bound at ``path`` (a stale file replaced) with mode 0600, set
    before it listens, so nobody else can connect at any moment."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        os.chmod(path, 0o600)
    except OSError:
        listener.close()
        raise
    return listener
