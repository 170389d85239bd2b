"""Tests of what a loaded config needs from outside its file (``tokenmeter.config_setup``)."""

from __future__ import annotations

import json
from pathlib import Path

from tokenmeter.config import Config, MeterConfig
from tokenmeter.config_setup import credentials_problem, setup_problems

KEY = {"type": "service_account", "project_id": "p", "private_key": "k", "client_email": "e"}


def test_credentials_file_problems(tmp_path: Path) -> None:
    good = tmp_path / "key.json"
    good.write_text(json.dumps(KEY))
    assert credentials_problem(str(good)) is None
    assert credentials_problem(str(tmp_path / "none.json"))[0] == "missing"  # type: ignore[index]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert credentials_problem(str(broken))[0] == "not_json"  # type: ignore[index]
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**KEY, "private_key": ""}))
    assert credentials_problem(str(other)) == ("not_service_account", "no private_key")


def test_setup_problems_name_the_keys(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "store": {
                "backend": "firebase",
                "firebase_url": "https://db.firebaseio.com",
                "firebase_credentials": str(tmp_path / "none.json"),
            },
            "blynk": {"transport": "mqtt", "meter": "kamar9"},
            "meters": [MeterConfig(id="kamar1", name="Kamar 1").model_dump()],
        }
    )
    keys = {key for key, _message in setup_problems(config, env={})}
    assert keys == {"store.firebase_credentials", "blynk.auth_token", "blynk.meter"}
    assert "blynk.meter" not in {
        k for k, _m in setup_problems(config, known_meters={"kamar9"}, env={})
    }
