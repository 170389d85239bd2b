"""What the Blynk door needs from a connection to Blynk, whatever the wire protocol.

Two implementations: ``BlynkMqttTransport`` (Blynk.Cloud MQTT API) and
``BlynkLegacyTransport`` (blynklib against a legacy server). Both run on their own
thread; ``on_write`` is called on that thread and must hand work to asyncio.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from tokenmeter.config_problem import ConfigProblem
from tokenmeter.errors import ConfigError

WriteHandler = Callable[[str, str], None]
"""``(pin or datastream name, value)`` written by the app; called on the transport's thread."""

_VIRTUAL_PIN = re.compile(r"^[Vv](\d{1,3})$")


class BlynkTransport(Protocol):
    def start(self, on_write: WriteHandler) -> None:
        """Begin connecting in the background; reconnects on its own."""
        ...

    def stop(self) -> None:
        """Disconnect and stop the background thread (blocking, bounded)."""
        ...

    def write(self, pin: str, value: str) -> None:
        """Show ``value`` on a pin/datastream; thread-safe, never blocks, kept while offline."""
        ...

    @property
    def connected(self) -> bool: ...

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (True) or ``timeout`` seconds pass (False)."""
        ...


def virtual_pin_number(pin: str) -> int:
    """``"V3"`` → 3; legacy servers address virtual pins by number only."""
    match = _VIRTUAL_PIN.match(pin.strip())
    if match is None:
        raise ConfigError(
            f"Blynk pin {pin!r} is not a virtual pin (use V0..V255 with the legacy transport)",
            problems=[
                ConfigProblem("blynk", f"pin {pin!r}: use V0..V255", "blynk_pin", {"pin": pin})
            ],
        )
    return int(match.group(1))
