"""Configuration: defaults, unknown keys, environment secrets, validation, the example."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from tokenmeter.config import Config, config_problems, load_config
from tokenmeter.errors import ConfigError, UnknownMeter

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    """No file means SQLite, a local broker and one simulated meter."""
    config = load_config(None, env={})
    assert config.store.backend == "sqlite"
    assert config.mqtt.url == ""
    assert [(m.id, m.camera_url, m.schedule) for m in config.meters] == [
        ("rumah", "sim:", ["06:00", "18:00"])
    ]
    assert config.telegram.token.get_secret_value() == ""


def test_unknown_keys_are_rejected_with_their_path(tmp_path: Path) -> None:
    """A typo anywhere is reported with the key path."""
    path = write(tmp_path, '[mqtt]\nprefx = "x"\n\n[[meters]]\nid = "a"\nlow_kw = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert ("mqtt.prefx", "unknown key") in caught.value.params["problems"]  # type: ignore[operator]
    assert ("meters.0.low_kw", "unknown key") in caught.value.params["problems"]  # type: ignore[operator]


def test_unknown_section_is_rejected() -> None:
    """A whole unknown section is an unknown key too."""
    assert config_problems({"telegrm": {"token": "x"}}) == [("telegrm", "unknown key")]


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    """Environment secrets override the file and stay hidden when printed."""
    path = write(tmp_path, '[telegram]\ntoken = "from-file"\n')
    config = load_config(
        path,
        env={
            "TOKENMETER_TELEGRAM_TOKEN": "123:env",
            "TOKENMETER_MQTT_PASSWORD": "pw",
            "TOKENMETER_BLYNK_TOKEN": "blynk",
            "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/sa.json",
        },
    )
    assert config.telegram.token.get_secret_value() == "123:env"
    assert config.mqtt.password.get_secret_value() == "pw"
    assert config.blynk.auth_token.get_secret_value() == "blynk"
    assert config.store.firebase_credentials == "/secrets/sa.json"
    assert "123:env" not in repr(config) and "pw'" not in str(config.mqtt)


def test_file_credentials_win_over_google_env(tmp_path: Path) -> None:
    """An explicit firebase_credentials path is kept."""
    path = write(tmp_path, '[store]\nfirebase_credentials = "/etc/sa.json"\n')
    config = load_config(path, env={"GOOGLE_APPLICATION_CREDENTIALS": "/other.json"})
    assert config.store.firebase_credentials == "/etc/sa.json"


@pytest.mark.parametrize(
    ("meter", "key"),
    [
        ('timezone = "Asia/Jakrta"', "meters.0.timezone"),
        ('schedule = ["25:00"]', "meters.0.schedule"),
        ('schedule = ["6pm"]', "meters.0.schedule"),
        ('id = "rumah saya"', "meters.0.id"),
        ("low_kwh = -1", "meters.0.low_kwh"),
        ("roi = [1, 2, 3]", "meters.0.roi"),
        ("roi = [300, 22, 10, 20, 11, 79, 301, 80]", "meters.0.roi"),
        ("decimals = 5", "meters.0.decimals"),
        ('decimals = "two"', "meters.0.decimals"),
        ('flash = "on"', "meters.0.flash"),
    ],
)
def test_bad_meter_values(tmp_path: Path, meter: str, key: str) -> None:
    """Bad timezones, times, ids and thresholds are reported at their key."""
    fields = {"id": 'id = "rumah"'}
    fields[meter.split(" ")[0]] = meter
    path = write(tmp_path, "[[meters]]\n" + "\n".join(fields.values()) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [k for k, _ in caught.value.params["problems"]] == [key]  # type: ignore[attr-defined]


def test_profile_keys(tmp_path: Path) -> None:
    """roi, decimals and flash give a profile; unset they give none."""
    path = write(
        tmp_path,
        '[[meters]]\nid = "a"\nroi = [10, 20, 300, 22, 301, 80, 11, 79]\n'
        'decimals = 2\nflash = false\n[[meters]]\nid = "b"\n',
    )
    first, second = load_config(path, env={}).meters
    profile = first.to_profile()
    assert profile is not None
    assert profile.quad == ((10, 20), (300, 22), (301, 80), (11, 79))
    assert (profile.decimals, profile.flash) == (2, False)
    assert second.to_profile() is None


def test_schedule_times_are_normalised(tmp_path: Path) -> None:
    """Times are sorted, deduplicated and zero-padded."""
    path = write(tmp_path, '[[meters]]\nid = "a"\nschedule = ["18:00", "6:00", "06:00"]\n')
    assert load_config(path, env={}).meters[0].schedule == ["06:00", "18:00"]


def test_duplicate_meter_ids(tmp_path: Path) -> None:
    """Two meters with one id are refused."""
    path = write(tmp_path, '[[meters]]\nid = "a"\n\n[[meters]]\nid = "a"\n')
    with pytest.raises(ConfigError, match="appears twice"):
        load_config(path, env={})


def test_firebase_needs_a_valid_url() -> None:
    """backend = firebase needs a database URL of a usable form."""
    assert config_problems({"store": {"backend": "firebase"}}) == [
        ("store.firebase_url", "required when store.backend = 'firebase'")
    ]
    bad = config_problems({"store": {"backend": "firebase", "firebase_url": "http://x:9000/"}})
    assert [k for k, _ in bad] == ["store.firebase_url"]
    for good in ("https://demo.firebaseio.com", "http://127.0.0.1:9000/?ns=demo"):
        assert config_problems({"store": {"backend": "firebase", "firebase_url": good}}) == []


def test_missing_and_broken_files(tmp_path: Path) -> None:
    """A missing file and invalid TOML are config errors, not crashes."""
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[store\n"), env={})


def test_meter_lookup() -> None:
    """meter(None) is the first meter; an unknown id raises UnknownMeter."""
    config = Config.model_validate({"meters": [{"id": "a"}, {"id": "b"}]})
    assert config.meter(None).id == "a"
    assert config.meter("b").id == "b"
    with pytest.raises(UnknownMeter):
        config.meter("c")


def test_example_file_loads() -> None:
    """config.example.toml is valid as it stands."""
    assert load_config(EXAMPLE, env={}).meters[0].id == "rumah"


def test_example_documents_every_key() -> None:
    """Every field of every section appears in config.example.toml."""
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for section, field in Config.model_fields.items():
        model = field.annotation
        if section in ("meters", "people"):
            model = model.__args__[0]  # type: ignore[union-attr]
            present = data[section][0]
        else:
            present = data[section]
        assert isinstance(model, type) and issubclass(model, BaseModel)
        missing = set(model.model_fields) - set(present)
        assert not missing, f"[{section}] lacks {sorted(missing)}"


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    """Relative path settings written in the file resolve against its folder; absolute
    ones, ``~``, unset ones (the defaults) and the environment's are left alone."""
    path = write(
        tmp_path,
        '[store]\nsqlite_path = "db/tm.db"\nfirebase_credentials = "sa.json"\n'
        'photo_dir = "/srv/photos"\n[mqtt]\nca_file = "~/ca.pem"\n',
    )
    config = load_config(path, env={})
    assert config.store.sqlite_path == tmp_path / "db" / "tm.db"
    assert config.store.firebase_credentials == str(tmp_path / "sa.json")
    assert config.store.photo_dir == Path("/srv/photos")
    assert config.mqtt.ca_file == str(Path("~/ca.pem").expanduser())
    defaults = load_config(
        write(tmp_path, "[mqtt]\n"), env={"GOOGLE_APPLICATION_CREDENTIALS": "k.json"}
    )
    assert defaults.store.sqlite_path == Path("data/tokenmeter.db")
    assert defaults.store.firebase_credentials == "k.json"
