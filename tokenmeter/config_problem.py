"""One problem in a configuration: its key path, an English message, and a code with
parameters that ``tokenmeter.texts.config_problem_text`` says in the run's language.

A problem is a ``(key, message)`` tuple, so code that builds or compares plain pairs
keeps working; such a pair has no code and is told with its message as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

UNKNOWN_KEY = "unknown key"
FILE_KEY = "(file)"
METER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
"""What a meter id may be (it is used in MQTT topics and store paths)."""
"""The key of a problem with the file itself (missing, not TOML)."""


class ConfigProblem(tuple[str, str]):
    """``(key path, English message)`` with ``code`` and ``params`` for translation.

    ``code`` is pydantic's error type (``extra_forbidden``, ``greater_than_equal``,
    ...) with its context as ``params``, or one of this project's own codes
    (``camera_url``, ``mqtt_url``, ``blynk_token``, ...); ``""`` for none.
    """

    code: str
    params: dict[str, object]

    def __new__(
        cls, key: str, message: str, code: str = "", params: Mapping[str, object] | None = None
    ) -> ConfigProblem:
        problem = super().__new__(cls, (key, message))
        problem.code = code
        problem.params = dict(params or {})
        return problem

    @property
    def key(self) -> str:
        return self[0]

    @property
    def message(self) -> str:
        return self[1]


def validation_problems(err: ValidationError) -> list[ConfigProblem]:
    """Every error of a pydantic validation as a problem, keyed by its dotted path."""
    problems: list[ConfigProblem] = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        code = str(item["type"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if code == "extra_forbidden":
            message = UNKNOWN_KEY
        params = {name: value for name, value in item.get("ctx", {}).items() if name != "error"}
        problems.append(ConfigProblem(key, message, code, params))
    return problems


SYSTEM_CONFIG_DIR = Path("/etc")
SYSTEM_DATA_DIR = Path("/var/lib/tokenmeter")


def system_data_problems(sqlite_path: Path, photo_dir: Path) -> list[ConfigProblem]:
    """The database or the photos under /etc: what a copy of config.example.toml in
    /etc/tokenmeter with its relative ``data/`` paths gives. Data belongs in
    /var/lib/tokenmeter, and the systemd unit (``ProtectSystem=full``) cannot write
    under /etc."""
    problems: list[ConfigProblem] = []
    for key, value, name in (
        ("sqlite_path", sqlite_path, "tokenmeter.db"),
        ("photo_dir", photo_dir, "photos"),
    ):
        path = value.absolute()
        if path.is_relative_to(SYSTEM_CONFIG_DIR):
            suggestion = SYSTEM_DATA_DIR / name
            problems.append(
                ConfigProblem(
                    f"store.{key}",
                    f"{path} is under /etc; give an absolute path such as {suggestion}",
                    "data_under_etc",
                    {"path": str(path), "suggestion": str(suggestion)},
                )
            )
    return problems
