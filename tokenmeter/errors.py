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
    """No usable photo came from the camera.

    ``reason`` is one of: ``unreachable`` (no connection, or no whole answer within
    the deadline), ``http_error`` (it answered with HTTP ``status``), ``not_photo``
    (the answer is not a JPEG that decodes), ``too_large``. A reading keeps it as
    ``reading_error`` (``camera_unavailable``, ``camera_http_500``,
    ``camera_not_photo``, ``camera_too_large``); ``from_reading_error`` reverses it.
    """

    code = "camera_unavailable"
    REASONS = ("unreachable", "http_error", "not_photo", "too_large")

    def __init__(
        self, detail: str = "", *, reason: str = "unreachable", status: int = 0, **params: object
    ) -> None:
        super().__init__(detail, status=status, **params)
        self.reason = reason if reason in self.REASONS else "unreachable"
        self.status = status

    @property
    def reading_error(self) -> str:
        """The error code a reading stores for this failure."""
        if self.reason == "http_error":
            return f"camera_http_{self.status}"
        if self.reason == "unreachable":
            return self.code  # what readings stored before reasons existed
        return f"camera_{self.reason}"

    @classmethod
    def from_reading_error(cls, error: str) -> CameraUnavailable:
        """The failure a stored reading's error code stands for (unknown: unreachable)."""
        http = error.removeprefix("camera_http_")
        if http != error and http.isascii() and http.isdigit() and len(http) == 3:
            return cls(error, reason="http_error", status=int(http))
        reason = error.removeprefix("camera_")
        return cls(error, reason=reason if reason in cls.REASONS else "unreachable")


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


class CredentialsInvalid(TokenmeterError):
    """The Google service-account credentials cannot be used.

    ``reason`` is one of: ``missing`` (no such file, or unreadable), ``not_json``,
    ``not_service_account`` (JSON without the service-account fields), ``none`` (no
    file given and no Google default credentials on the machine). ``path`` names the file.
    """

    code = "credentials_invalid"
    REASONS = ("missing", "not_json", "not_service_account", "none")

    def __init__(self, detail: str = "", *, reason: str, path: str = "", **params: object) -> None:
        super().__init__(detail, path=path, **params)
        self.reason = reason if reason in self.REASONS else "none"
        self.path = path


class HandoffFailed(TokenmeterError):
    """``tokenmeter topup`` could not hand its top-up to the running service.

    ``reason`` is one of: ``refused`` (the service refused the secret; nothing was
    typed), ``no_access`` (a service runs, but this user cannot reach its socket or
    read its secret; nothing was typed), ``lost`` (the service stopped answering before
    the top-up's result; a top-up it stored goes on there).
    """

    code = "handoff_failed"
    REASONS = ("refused", "no_access", "lost")

    def __init__(self, detail: str = "", *, reason: str, **params: object) -> None:
        super().__init__(detail, **params)
        self.reason = reason if reason in self.REASONS else "lost"


class PortUnavailable(TokenmeterError):
    """A port the service listens on is taken by another program, or cannot be bound."""

    code = "port_unavailable"
