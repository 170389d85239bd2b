"""What a loaded configuration needs from outside its file, checked before ``serve``
finds it at start: the Firebase credentials file, the Blynk token, the meters that
people and the Blynk door name (``config check`` reports these)."""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from tokenmeter.access import people_meter_problems
from tokenmeter.config import ENV_BLYNK_TOKEN, Config
from tokenmeter.config_problem import ConfigProblem, system_data_problems


def setup_problems(
    config: Config, *, known_meters: Collection[str] = (), env: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """``(key path, message)`` for what a loaded config needs from outside the file and
    ``serve`` would otherwise find only at start: the Firebase credentials file, the
    Blynk token, the Blynk meter. ``known_meters``: meters kept in the store too."""
    env = os.environ if env is None else env
    problems: list[tuple[str, str]] = []
    store = config.store
    emulator = urlsplit(store.firebase_url).scheme == "http" or bool(
        env.get("FIREBASE_DATABASE_EMULATOR_HOST")
    )
    if store.backend == "firebase" and store.firebase_credentials and not emulator:
        problem = credentials_problem(store.firebase_credentials)
        if problem is not None:
            what = {
                "missing": "no such file or not readable",
                "not_json": "not JSON",
                "not_service_account": "not a service-account key",
            }[problem[0]]
            problems.append(
                ConfigProblem(
                    "store.firebase_credentials",
                    f"{store.firebase_credentials}: {what} ({problem[1]})",
                    f"credentials_{problem[0]}",
                    {"path": store.firebase_credentials, "detail": problem[1]},
                )
            )
    problems += system_data_problems(store.sqlite_path, store.photo_dir)
    blynk = config.blynk
    if blynk.transport != "off" and not blynk.auth_token.get_secret_value():
        problems.append(
            ConfigProblem(
                "blynk.auth_token",
                f"required when blynk.transport = {blynk.transport!r} (or set {ENV_BLYNK_TOKEN})",
                "blynk_token",
                {"transport": blynk.transport, "env": ENV_BLYNK_TOKEN},
            )
        )
    meter_ids = {meter.id for meter in config.meters} | set(known_meters)
    problems += people_meter_problems(config.people, meter_ids)
    if blynk.meter and blynk.meter not in meter_ids:
        known = ", ".join(sorted(meter_ids))
        problems.append(
            ConfigProblem(
                "blynk.meter",
                f"{blynk.meter!r} is not a configured meter (known: {known})",
                "blynk_meter",
                {"meter": blynk.meter, "known": known},
            )
        )
    return problems


SERVICE_ACCOUNT_FIELDS = ("project_id", "private_key", "client_email")


def credentials_problem(path: str) -> tuple[str, str] | None:
    """What is wrong with a service-account key file, or None: the reason (``missing``
    (no such file, or unreadable), ``not_json`` or ``not_service_account``, as in
    ``CredentialsInvalid``) and the detail."""
    try:
        data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as err:
        return "missing", err.strerror or str(err)
    except UnicodeDecodeError as err:
        return "not_json", str(err)
    except json.JSONDecodeError as err:
        return "not_json", str(err)
    if not isinstance(data, dict) or data.get("type") != "service_account":
        return "not_service_account", "no type = service_account"
    absent = [key for key in SERVICE_ACCOUNT_FIELDS if not isinstance(data.get(key), str)]
    absent += [key for key in SERVICE_ACCOUNT_FIELDS if key not in absent and not data[key]]
    if absent:
        return "not_service_account", "no " + ", ".join(absent)
    return None
