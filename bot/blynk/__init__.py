"""The Blynk door: token entry from the Blynk app (V0) and status back (V1-V3).

``build_blynk_door`` picks the transport from ``[blynk]``: the Blynk.Cloud MQTT
API (``mqtt``), a legacy server through blynklib (``legacy``) or none (``off``).
"""

from __future__ import annotations

from bot.blynk.door import BlynkDoor
from bot.blynk.factory import build_blynk_door
from bot.blynk.notifier import BlynkNotifier, BlynkPins

__all__ = ["BlynkDoor", "BlynkNotifier", "BlynkPins", "build_blynk_door"]
