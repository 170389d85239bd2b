"""Tests for bot.blynk.factory: the door built from [blynk]."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.blynk.factory import build_blynk_door, build_transport
from bot.blynk.legacy_transport import BlynkLegacyTransport
from bot.blynk.mqtt_transport import BlynkMqttTransport
from tests.bot.blynk.conftest import StandInTopUps
from tokenmeter.config import BlynkConfig, Config, MeterConfig, load_config
from tokenmeter.errors import ConfigError
from tokenmeter.events import EventBus


def _config(**blynk: object) -> Config:
    return Config(
        blynk=BlynkConfig.model_validate(blynk),
        meters=[MeterConfig(id="rumah"), MeterConfig(id="kamar2")],
    )


async def test_off_builds_nothing() -> None:
    """transport = off (the default) gives no door."""
    bus = EventBus()
    assert build_blynk_door(Config(), StandInTopUps(bus), bus) is None


async def test_mqtt_door_for_the_configured_meter_and_pins() -> None:
    """mqtt builds the MQTT transport for blynk.meter with the configured datastreams."""
    bus = EventBus()
    config = _config(
        transport="mqtt", auth_token=SecretStr("abc"), meter="kamar2", token_pin="Token"
    )
    door = build_blynk_door(config, StandInTopUps(bus), bus)
    assert door is not None
    assert isinstance(door.transport, BlynkMqttTransport)
    assert (door.transport.host, door.transport.port) == ("blynk.cloud", 8883)
    assert door.meter_id == "kamar2"
    assert door.pins.token == "Token"


async def test_meter_defaults_to_the_first() -> None:
    """An empty blynk.meter means the first configured meter."""
    bus = EventBus()
    door = build_blynk_door(_config(transport="mqtt", auth_token="abc"), StandInTopUps(bus), bus)
    assert door is not None and door.meter_id == "rumah"


def test_legacy_transport_from_config() -> None:
    """legacy builds blynklib's transport on the configured server."""
    transport = build_transport(
        BlynkConfig(transport="legacy", auth_token=SecretStr("abc"), server="10.0.0.2", port=8080)
    )
    assert isinstance(transport, BlynkLegacyTransport)
    assert (transport.host, transport.port) == ("10.0.0.2", 8080)


def test_auth_token_comes_from_the_environment() -> None:
    """TOKENMETER_BLYNK_TOKEN fills blynk.auth_token; without it the door cannot be built."""
    config = load_config(None, env={"TOKENMETER_BLYNK_TOKEN": "from-env"})
    config.blynk.transport = "mqtt"
    assert config.blynk.auth_token.get_secret_value() == "from-env"
    assert isinstance(build_transport(config.blynk), BlynkMqttTransport)
    with pytest.raises(ConfigError, match="TOKENMETER_BLYNK_TOKEN"):
        build_transport(BlynkConfig(transport="mqtt"))


def test_legacy_needs_virtual_pin_names() -> None:
    """Datastream names other than V<n> are refused for a legacy server."""
    with pytest.raises(ConfigError):
        build_transport(
            BlynkConfig(transport="legacy", auth_token=SecretStr("abc"), token_pin="Token")
        )
