"""Configuration: one pydantic model per TOML section, unknown keys rejected.

Secrets may come from the environment and are kept as ``SecretStr`` so they are
never printed by accident. No file at all means embedded defaults: SQLite, a local
broker and one simulated meter.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from tokenmeter.access import PersonConfig, people_problems
from tokenmeter.config_problem import (
    FILE_KEY,
    METER_ID_PATTERN,
    ConfigProblem,
    validation_problems,
)
from tokenmeter.domain import Meter, Schedule
from tokenmeter.errors import ConfigError, InvalidSchedule
from tokenmeter.profile import MAX_DECIMALS, MeterProfile, ProfileError, parse_quad

ENV_TELEGRAM_TOKEN = "TOKENMETER_TELEGRAM_TOKEN"
ENV_MQTT_PASSWORD = "TOKENMETER_MQTT_PASSWORD"
ENV_BLYNK_TOKEN = "TOKENMETER_BLYNK_TOKEN"
ENV_GOOGLE_CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
ENV_CONFIG = "TOKENMETER_CONFIG"
LOCAL_CONFIG = Path("config.toml")
SYSTEM_CONFIG = Path("/etc/tokenmeter/config.toml")


MQTT_SCHEMES = ("mqtt", "mqtts", "tcp", "ssl")  # tcp and ssl: what paho calls them


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreConfig(Section):
    backend: Literal["sqlite", "firebase"] = Field("sqlite", description="Where history lives.")
    sqlite_path: Path = Field(
        Path("data/tokenmeter.db"),
        description="SQLite database file (also the Firebase offline queue).",
    )
    firebase_url: str = Field(
        "",
        description="https://<db>.firebaseio.com, or http://127.0.0.1:9000/?ns=<name> "
        "for a local emulator.",
    )
    firebase_credentials: str = Field(
        "", description="Service-account JSON path (or GOOGLE_APPLICATION_CREDENTIALS)."
    )
    photo_dir: Path = Field(Path("data/photos"), description="Where check photos are kept.")
    photos_keep: int = Field(50, ge=1, description="Photos kept per meter; older ones deleted.")
    photos_max_days: int = Field(
        90, ge=0, description="Photos older than this many days are deleted; 0 = no age limit."
    )


class MqttConfig(Section):
    url: str = Field(
        "", description="mqtt://host:1883 or mqtts://host:8883; empty = start a local broker."
    )
    username: str = Field("", description="Broker user name; empty for none.")
    password: SecretStr = Field(
        SecretStr(""), description="Broker password; prefer TOKENMETER_MQTT_PASSWORD."
    )
    prefix: str = Field("tokenmeter", min_length=1, description="Topic prefix.")
    ca_file: str = Field("", description="CA bundle for mqtts:// (empty = system CAs).")
    client_id: str = Field("", description="MQTT client id; empty = generated.")

    @field_validator("url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if value.strip() and (parts.scheme not in MQTT_SCHEMES or not parts.hostname):
            raise PydanticCustomError(
                "mqtt_url",
                "use mqtt://host:1883 or mqtts://host:8883 (empty = start a local broker)",
            )
        return value


class TelegramConfig(Section):
    token: SecretStr = Field(
        SecretStr(""),
        description="Bot token (or TOKENMETER_TELEGRAM_TOKEN); empty = console notifications.",
    )
    api_base_url: str = Field(
        "", description="A local Bot API server, e.g. http://127.0.0.1:8081/bot."
    )
    allowed_chats: list[int] = Field(
        default_factory=list,
        description="Chat ids of the owners: every meter and every alert (tenants: [[people]]).",
    )
    language: Literal["id", "en"] = Field("id", description="Message language.")
    offline_alert_minutes: int = Field(
        10, ge=1, description="Alert when a device stays offline this long."
    )
    slot_messages: Literal["auto", "summary", "per_meter"] = Field(
        "auto",
        description="Scheduled checks: one summary per slot, a message per meter, or "
        "'auto' (a summary when a slot checks at least summary_from meters).",
    )
    summary_from: int = Field(
        4, ge=1, description="With slot_messages = 'auto': meters in a slot that make a summary."
    )


class BlynkConfig(Section):
    transport: Literal["mqtt", "legacy", "off"] = Field(
        "off", description="'mqtt' (Blynk.Cloud MQTT API), 'legacy' (blynklib) or 'off'."
    )
    auth_token: SecretStr = Field(
        SecretStr(""), description="Device auth token (or TOKENMETER_BLYNK_TOKEN)."
    )
    server: str = Field("blynk.cloud", description="Blynk server host.")
    port: int = Field(8883, ge=1, le=65535, description="Blynk server port.")
    tls: bool = Field(True, description="Use TLS (Blynk.Cloud MQTT needs it).")
    meter: str = Field("", description="Meter the Blynk device tops up; empty = the first.")
    token_pin: str = Field("V0", description="Datastream/pin where the app writes a token.")
    status_pin: str = Field("V1", description="Datastream/pin for the status text.")
    balance_pin: str = Field("V2", description="Datastream/pin for the last balance (kWh).")
    state_pin: str = Field("V3", description="Datastream/pin for the top-up state.")
    language: Literal["id", "en"] = Field("id", description="Status text language.")


class ChecksConfig(Section):
    max_kwh_per_hour: float = Field(
        5.0, gt=0, description="Fastest plausible fall of the balance between checks."
    )
    camera_timeout_s: float = Field(8.0, gt=0, description="HTTP snapshot timeout.")
    camera_retries: int = Field(1, ge=0, le=5, description="Snapshot retries after a failure.")
    concurrency: int = Field(8, ge=1, description="Meters checked at once.")
    grace_minutes: int = Field(
        30,
        ge=0,
        description="A slot missed while down runs at start-up if this recent; "
        "0 = no catch-up (slots on time always run).",
    )


class TopUpConfig(Section):
    result_timeout_s: float = Field(
        60.0, gt=0, description="How long to wait for the keypad's answer."
    )
    settle_s: float = Field(
        3.0, ge=0, description="Wait after typing before reading the new balance."
    )
    after_reads: int = Field(
        3,
        ge=1,
        le=10,
        description="Photos taken (settle_s apart) until the balance after a top-up reads.",
    )
    queue_expiry_minutes: int = Field(
        24 * 60, ge=1, description="A queued top-up expires (never typed) after this long."
    )


class ServiceConfig(Section):
    health_host: str = Field("127.0.0.1", description="Address of GET /healthz.")
    health_port: int = Field(8765, ge=0, le=65535, description="Port of /healthz; 0 = off.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level, in any case."
    )
    instance_id: str = Field("", description="Name of this instance for slot claims; empty = host.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class MeterConfig(Section):
    id: str = Field(..., pattern=METER_ID_PATTERN, description="Meter id used in topics.")
    name: str = Field("", description="Display name; defaults to the id.")
    camera_url: str = Field("sim:", description="ESP32-CAM snapshot URL, or 'sim:'.")
    timezone: str = Field("Asia/Jakarta", description="IANA timezone for the schedule.")
    low_kwh: float = Field(10.0, ge=0, description="Low-balance alert threshold in kWh.")
    schedule: list[str] = Field(
        default_factory=lambda: ["06:00", "18:00"],
        description="Seeds the store when it has none; the store is the truth after that.",
    )
    roi: list[float] = Field(
        default_factory=list,
        description="Display corners in the photo [x1,y1,...,x4,y4] (TL, TR, BR, BL); "
        "[] = find the display. A stored profile wins.",
    )
    decimals: int | str = Field(
        "auto",
        description="Digits after the point the display shows (0-3); a reading with "
        "another number is refused. 'auto' = any. A stored profile wins.",
    )
    flash: StrictBool = Field(True, description="Photograph with the flash LED on.")

    @field_validator("camera_url")
    @classmethod
    def _camera_url(cls, value: str) -> str:
        url = value.strip()
        parts = urlsplit(url)
        if url.startswith("sim:") or (parts.scheme in ("http", "https") and parts.hostname):
            return value
        raise PydanticCustomError(
            "camera_url", "use http://<camera>/capture (or https://), or sim: for a simulator"
        )

    @field_validator("roi")
    @classmethod
    def _valid_roi(cls, value: list[float]) -> list[float]:
        if value:
            try:
                parse_quad(value)
            except ProfileError as err:
                raise PydanticCustomError("roi", "{detail}", {"detail": str(err)}) from err
        return value

    @field_validator("decimals")
    @classmethod
    def _valid_decimals(cls, value: int | str) -> int | str:
        if value != "auto" and not (isinstance(value, int) and 0 <= value <= MAX_DECIMALS):
            raise PydanticCustomError(
                "decimals", "decimals must be 0-{max} or 'auto'", {"max": MAX_DECIMALS}
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise PydanticCustomError(
                "timezone", "unknown timezone '{value}'", {"value": value}
            ) from err
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_times(cls, value: list[str]) -> list[str]:
        try:
            return list(Schedule.parse(value).times)
        except InvalidSchedule as err:
            raise PydanticCustomError(
                "schedule",
                "bad time '{time}' (use HH:MM, 00:00-23:59)",
                {"time": str(err.params.get("time", err.detail))},
            ) from err

    def to_meter(self) -> Meter:
        return Meter(
            id=self.id,
            name=self.name or self.id,
            timezone=self.timezone,
            low_kwh=self.low_kwh,
            camera_url=self.camera_url,
        )

    def to_profile(self) -> MeterProfile | None:
        """The profile these keys give; None when none of roi, decimals, flash is set."""
        decimals = self.decimals if isinstance(self.decimals, int) else None
        if not self.roi and decimals is None and self.flash:
            return None
        quad = parse_quad(self.roi) if self.roi else None
        return MeterProfile(quad=quad, decimals=decimals, flash=self.flash)


class BillingConfig(Section):
    tariff_rp_per_kwh: float = Field(
        0.0,
        ge=0,
        description="Rupiah per kWh for the estimated amounts in exports; 0 = no amounts.",
    )


def _default_meters() -> list[MeterConfig]:
    return [MeterConfig(id="rumah", name="Rumah")]


class Config(Section):
    store: StoreConfig = Field(default_factory=StoreConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    blynk: BlynkConfig = Field(default_factory=BlynkConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    topup: TopUpConfig = Field(default_factory=TopUpConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    billing: BillingConfig = Field(default_factory=BillingConfig)
    meters: list[MeterConfig] = Field(default_factory=_default_meters, min_length=1)
    people: list[PersonConfig] = Field(
        default_factory=list,
        description="Chats with a role (tokenmeter.access); telegram.allowed_chats are owners.",
    )

    @field_validator("meters")
    @classmethod
    def _unique_ids(cls, value: list[MeterConfig]) -> list[MeterConfig]:
        seen: set[str] = set()
        for meter in value:
            if meter.id in seen:
                raise PydanticCustomError(
                    "meter_twice", "meter id '{id}' appears twice", {"id": meter.id}
                )
            seen.add(meter.id)
        return value

    def meter(self, meter_id: str | None) -> MeterConfig:
        """Return the meter with this id, or the first when ``meter_id`` is None."""
        if meter_id is None:
            return self.meters[0]
        for meter in self.meters:
            if meter.id == meter_id:
                return meter
        from tokenmeter.errors import UnknownMeter

        raise UnknownMeter(meter_id, meter=meter_id)


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    if env.get(ENV_TELEGRAM_TOKEN):
        config.telegram.token = SecretStr(env[ENV_TELEGRAM_TOKEN])
    if env.get(ENV_MQTT_PASSWORD):
        config.mqtt.password = SecretStr(env[ENV_MQTT_PASSWORD])
    if env.get(ENV_BLYNK_TOKEN):
        config.blynk.auth_token = SecretStr(env[ENV_BLYNK_TOKEN])
    if not config.store.firebase_credentials and env.get(ENV_GOOGLE_CREDENTIALS):
        config.store.firebase_credentials = env[ENV_GOOGLE_CREDENTIALS]
    return config


def config_problems(data: Mapping[str, object]) -> list[tuple[str, str]]:
    """Return ``(key path, message)`` for every problem in raw config data (each a
    ``ConfigProblem`` with the code the doors translate)."""
    problems: list[tuple[str, str]] = []
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        return list(validation_problems(err))
    if config.store.backend == "firebase" and not config.store.firebase_url:
        problems.append(
            ConfigProblem(
                "store.firebase_url",
                "required when store.backend = 'firebase'",
                "firebase_url_required",
            )
        )
    url_problem = _firebase_url_problem(config.store.firebase_url)
    if url_problem:
        problems.append(ConfigProblem("store.firebase_url", url_problem, "firebase_url"))
    # meters may be kept in the store: setup_problems checks the people's meters
    problems += people_problems(config.telegram.allowed_chats, config.people)
    return problems


def _firebase_url_problem(url: str) -> str | None:
    """What is wrong with a Firebase database URL, or None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return None
    if parts.scheme == "http" and parts.netloc and parse_qs(parts.query).get("ns"):
        return None
    return "use https://<db>.firebaseio.com, or http://host:port/?ns=<name> for an emulator"


def find_config_file(option: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file a command uses; None means the embedded defaults.

    One rule: ``--config``, else ``$TOKENMETER_CONFIG``, else ``./config.toml``, else
    ``/etc/tokenmeter/config.toml``. A file named by the option or the variable is
    returned even when it is missing (loading it then says so); the two fixed places
    count only when a file is there.
    """
    env = os.environ if env is None else env
    if option is not None:
        return option
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    for candidate in (LOCAL_CONFIG, SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return None


# Settings that name a file or folder: a relative value written in a config file is
# relative to that file's folder (the embedded defaults stay relative to the current
# directory, as does GOOGLE_APPLICATION_CREDENTIALS).
PATH_SETTINGS = (
    ("store", "sqlite_path"),
    ("store", "photo_dir"),
    ("store", "firebase_credentials"),
    ("mqtt", "ca_file"),
)
_NOT_A_PATH = {"", ":memory:"}


def _resolve_paths(data: dict[str, object], folder: Path) -> None:
    """Make the relative path settings written in ``data`` absolute against ``folder``."""
    for section, key in PATH_SETTINGS:
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        value = table.get(key)
        if isinstance(value, str) and value not in _NOT_A_PATH:
            table[key] = str(folder / Path(value).expanduser())


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate a TOML file (None = embedded defaults), then apply the environment.

    Relative paths written in the file are taken relative to the file's folder.
    """
    env = os.environ if env is None else env
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            problem = ConfigProblem(FILE_KEY, "not found", "file_not_found")
            raise ConfigError(
                f"{path}: file not found", problems=[problem], file=str(path)
            ) from err
        except OSError as err:
            reason = err.strerror or str(err)
            problem = ConfigProblem(FILE_KEY, reason, "file_unreadable", {"detail": reason})
            raise ConfigError(
                f"{path}: cannot be read: {reason}", problems=[problem], file=str(path)
            ) from err
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            problem = ConfigProblem(FILE_KEY, str(err), "not_toml", {"detail": str(err)})
            raise ConfigError(
                f"{path}: not valid TOML: {err}", problems=[problem], file=str(path)
            ) from err
    if path is not None:
        _resolve_paths(data, Path(path).absolute().parent)
    problems = config_problems(data)
    if problems:
        listing = "; ".join(f"{key}: {msg}" for key, msg in problems)
        where = str(path or "config")
        raise ConfigError(f"{where}: {listing}", problems=problems, file=where)
    config = Config.model_validate(data)
    return _apply_env(config, env)
