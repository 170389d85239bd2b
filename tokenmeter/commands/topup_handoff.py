"""``tokenmeter topup`` handing its top-up to a running service.

When ``tokenmeter serve`` runs on the same data, its socket (``tokenmeter.handoff``)
answers: the top-up is sent there with the service's secret, and the stages and the
result the service streams back are what the command prints. When nothing answers,
``hand_off`` returns None and the command drives the keypad itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from tokenmeter.config import Config
from tokenmeter.domain import TopUp
from tokenmeter.errors import (
    BrokerUnavailable,
    DeviceOffline,
    HandoffFailed,
    InvalidToken,
    StoreUnavailable,
    TokenmeterError,
    UnknownMeter,
)
from tokenmeter.handoff import (
    MAX_ANSWER_BYTES,
    REFUSED_SECRET,
    secret_path,
    socket_path,
    topup_from_wire,
    topup_wait_s,
)
from tokenmeter.texts import Lang

ANSWER_MARGIN_S = 30.0  # beyond the service's own wait for the top-up
_KNOWN_ERRORS: dict[str, type[TokenmeterError]] = {
    cls.code: cls for cls in (UnknownMeter, StoreUnavailable, DeviceOffline, BrokerUnavailable)
}


def error_from_wire(data: object) -> TokenmeterError:
    """The service's refusal as the error the command would have raised itself."""
    fields = data if isinstance(data, dict) else {}
    code, reason = str(fields.get("code", "")), str(fields.get("reason", ""))
    raw = fields.get("params")
    params = {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
    if code == InvalidToken.code:
        return InvalidToken(reason or "empty", **params)
    if code == REFUSED_SECRET:
        return HandoffFailed(reason="refused")
    return _KNOWN_ERRORS.get(code, TokenmeterError)(str(fields.get("detail", "")), **params)


async def hand_off(
    config: Config, meter_id: str, token: str, lang: Lang, say: Callable[[str], None] | None
) -> TopUp | None:
    """The top-up done by the running service, ``say`` called with each stage line;
    None when no service answers. Raises the service's refusal as a
    ``TokenmeterError``, ``HandoffFailed`` when it cannot be reached or stops answering."""
    path = socket_path(config)
    try:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_ANSWER_BYTES)
    except PermissionError:
        raise HandoffFailed(reason="no_access", path=str(path)) from None
    except OSError:  # no socket, or one a killed service left: nobody listens
        return None
    try:
        try:
            secret = secret_path(config).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            raise HandoffFailed(reason="no_access", path=str(secret_path(config))) from None
        request = {"secret": secret, "meter": meter_id, "token": token, "lang": lang}
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        return await _answers(reader, topup_wait_s(config) + ANSWER_MARGIN_S, say)
    except (ConnectionError, TimeoutError):
        raise HandoffFailed(reason="lost") from None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _answers(
    reader: asyncio.StreamReader, timeout_s: float, say: Callable[[str], None] | None
) -> TopUp:
    """Read the service's answers until the result or a refusal."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            line = await asyncio.wait_for(reader.readline(), max(remaining, 0.0))
            answer: Any = json.loads(line) if line else None
        except ValueError:  # too long or not JSON: not our service speaking
            answer = None
        if not isinstance(answer, dict):
            raise HandoffFailed(reason="lost")
        if "say" in answer and say is not None:
            say(str(answer["say"]))
        elif "refused" in answer:
            raise error_from_wire(answer["refused"])
        elif isinstance(answer.get("done"), dict):
            try:
                return topup_from_wire(answer["done"])
            except (KeyError, ValueError, TypeError):
                raise HandoffFailed(reason="lost") from None
