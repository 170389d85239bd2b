"""Domain errors. Each becomes a plain sentence at the door and a log line elsewhere."""

from __future__ import annotations


class TokenmeterError(Exception):
    """Base of every error a user may be told about.

    ``code`` is a stable identifier the doors translate with ``tokenmeter.texts``.
    """

    code = "error"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.params = params


class ConfigError(TokenmeterError):
    """The configuration file or environment is invalid."""

    code = "config_invalid"


class CameraUnavailable(TokenmeterError):
    """The camera did not answer, timed out or sent something that is not a JPEG."""

    code = "camera_unavailable"


class Unreadable(TokenmeterError):
    """The photo was taken but the display could not be read with confidence."""

    code = "unreadable"


class InvalidToken(TokenmeterError):
    """A token was refused before anything was typed.

    ``reason`` is one of: ``empty``, ``not_digits``, ``length``, ``too_large``,
    ``already_used``.
    """

    code = "invalid_token"

    def __init__(self, reason: str, detail: str = "", **params: object) -> None:
        super().__init__(detail or reason, **params)
        self.reason = reason


class DeviceOffline(TokenmeterError):
    """The keypad device (or another device) is not connected."""

    code = "device_offline"


class UnknownMeter(TokenmeterError):
    """A meter id that is not configured."""

    code = "unknown_meter"


class InvalidSchedule(TokenmeterError):
    """A schedule time that is not HH:MM (00:00-23:59)."""

    code = "invalid_schedule"


class StoreUnavailable(TokenmeterError):
    """The store could not be reached and the write could not be queued."""

    code = "store_unavailable"


class BrokerUnavailable(TokenmeterError):
    """The MQTT broker could not be reached or started."""

    code = "broker_unavailable"
