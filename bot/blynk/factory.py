"""Build the Blynk door from the configuration (called by the composition root)."""

from __future__ import annotations

from bot.blynk.door import BlynkDoor
from bot.blynk.legacy_transport import BlynkLegacyTransport
from bot.blynk.mqtt_transport import BlynkMqttTransport
from bot.blynk.notifier import BlynkPins
from bot.blynk.transport import BlynkTransport
from tokenmeter.config import ENV_BLYNK_TOKEN, BlynkConfig, Config
from tokenmeter.config_problem import ConfigProblem
from tokenmeter.errors import ConfigError
from tokenmeter.events import EventBus
from tokenmeter.services.api import TopUps


def build_transport(config: BlynkConfig) -> BlynkTransport:
    """The transport ``config.transport`` names (``mqtt`` or ``legacy``)."""
    token = config.auth_token.get_secret_value()
    if not token:
        raise ConfigError(
            f"blynk.auth_token is empty: set {ENV_BLYNK_TOKEN}",
            problems=[
                ConfigProblem(
                    "blynk.auth_token",
                    f"required; set {ENV_BLYNK_TOKEN}",
                    "blynk_token",
                    {"transport": config.transport, "env": ENV_BLYNK_TOKEN},
                )
            ],
        )
    if config.transport == "mqtt":
        return BlynkMqttTransport(
            host=config.server, port=config.port, auth_token=token, tls=config.tls
        )
    if config.transport == "legacy":
        return BlynkLegacyTransport(
            host=config.server,
            port=config.port,
            auth_token=token,
            listen_pins=[config.token_pin],
            tls=config.tls,
        )
    raise ConfigError(f"blynk.transport {config.transport!r} has no transport")


def build_blynk_door(config: Config, topups: TopUps, bus: EventBus) -> BlynkDoor | None:
    """The door for ``[blynk]``, or None when ``transport = "off"``. Not started yet."""
    blynk = config.blynk
    if blynk.transport == "off":
        return None
    meter = config.meter(blynk.meter or None)
    return BlynkDoor(
        build_transport(blynk),
        topups,
        bus,
        meter_id=meter.id,
        pins=BlynkPins.from_config(blynk),
        language=blynk.language,
    )
