"""Domain types shared by the store, the services and the doors.

Times are timezone-aware UTC ``datetime`` values; kWh are floats.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from tokenmeter.errors import InvalidSchedule, InvalidToken

TOKEN_DIGITS = 20
TOKEN_MAX = 2**66 - 1  # 73786976294838206463, the STS token space
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id(prefix: str = "") -> str:
    """Return a new unique, roughly time-ordered id (``20261120T215700Z-3f9a1c2b``)."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}{stamp}-{secrets.token_hex(4)}"


class ReadingStatus(StrEnum):
    OK = "ok"  # read with confidence and plausible
    UNVERIFIED = "unverified"  # read, but implausible after a retake: not alerted as truth
    UNREADABLE = "unreadable"  # photo taken, display not readable
    CAMERA_ERROR = "camera_error"  # no photo


class TopUpStatus(StrEnum):
    PENDING = "PENDING"  # stored, nothing typed yet
    QUEUED = "QUEUED"  # device offline; goes out when it returns
    SENT = "SENT"  # keypad command published
    CONFIRMED = "CONFIRMED"  # credit seen on the display
    UNCONFIRMED = "UNCONFIRMED"  # typed, credit not proven
    FAILED = "FAILED"  # the device reported an error before typing everything
    EXPIRED = "EXPIRED"  # queued too long; never typed


FINAL_TOPUP_STATUSES = frozenset(
    {TopUpStatus.CONFIRMED, TopUpStatus.UNCONFIRMED, TopUpStatus.FAILED, TopUpStatus.EXPIRED}
)


@dataclass(frozen=True)
class Meter:
    """A configured meter (``/meters/{id}/config``)."""

    id: str
    name: str
    timezone: str = "Asia/Jakarta"
    low_kwh: float = 10.0
    camera_url: str = "sim:"


@dataclass(frozen=True)
class Schedule:
    """When a meter is checked (``/meters/{id}/schedule``), local times ``HH:MM``."""

    times: tuple[str, ...] = ()
    enabled: bool = True

    @staticmethod
    def parse(times: list[str] | tuple[str, ...], enabled: bool = True) -> Schedule:
        """Validate and normalise times (sorted, unique); raise InvalidSchedule on a bad one."""
        clean: set[str] = set()
        for raw in times:
            text = str(raw).strip()
            if len(text) == 4 and text[1] == ":":
                text = "0" + text  # 6:00 -> 06:00
            if not _TIME_RE.match(text):
                raise InvalidSchedule(f"bad time {raw!r}", time=str(raw))
            clean.add(text)
        return Schedule(times=tuple(sorted(clean)), enabled=enabled)


@dataclass(frozen=True)
class Reading:
    """One check of a meter (``/meters/{id}/readings/{rid}``)."""

    id: str
    meter_id: str
    ts: datetime
    kwh: float | None
    text: str
    confidence: float
    source: str  # schedule | telegram | cli | blynk | rtc | topup | demo
    status: ReadingStatus
    photo: str = ""  # path of the kept photo, "" when none
    error: str = ""  # error code (see tokenmeter.errors) when not ok


@dataclass(frozen=True)
class StatusChange:
    status: TopUpStatus
    ts: datetime
    note: str = ""


@dataclass(frozen=True)
class TopUp:
    """One token entry (``/meters/{id}/topups/{tid}``). Never holds the token digits."""

    id: str
    meter_id: str
    ts: datetime
    masked: str
    hash: str
    status: TopUpStatus
    source: str
    before: float | None = None
    after: float | None = None
    error: str = ""
    photo: str = ""
    history: tuple[StatusChange, ...] = field(default_factory=tuple)

    @property
    def credit(self) -> float | None:
        """Credit added in kWh, when both balances are known."""
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 2)

    def moved(self, status: TopUpStatus, note: str = "", **changes: object) -> TopUp:
        """Return a copy in ``status`` with the change appended to the history."""
        now = utcnow()
        history = (*self.history, StatusChange(status, now, note))
        return replace(self, status=status, history=history, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DeviceStatus:
    """A device's last known state (``/meters/{id}/devices/{name}``)."""

    name: str
    online: bool
    ts: datetime
    version: str = ""


def normalize_token(raw: str) -> str:
    """Strip spaces, dashes and dots a user may type between groups."""
    return re.sub(r"[\s\-\.]", "", raw or "")


def validate_token(raw: str) -> str:
    """Return the 20 digits of a token or raise InvalidToken with the reason."""
    digits = normalize_token(raw)
    if not digits:
        raise InvalidToken("empty")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidToken("not_digits")
    if len(digits) != TOKEN_DIGITS:
        raise InvalidToken("length", count=len(digits))
    if int(digits) > TOKEN_MAX:
        raise InvalidToken("too_large")
    return digits


def mask_token(raw: str) -> str:
    """Mask a token for logs and messages: ``****-****-****-****-1234``."""
    digits = normalize_token(raw)
    tail = digits[-4:] if len(digits) >= 4 else digits
    return "****-****-****-****-" + tail


def token_hash(meter_id: str, digits: str) -> str:
    """Stable hash used to refuse a repeated token for a meter."""
    return hashlib.sha256(f"tokenmeter:{meter_id}:{digits}".encode()).hexdigest()
