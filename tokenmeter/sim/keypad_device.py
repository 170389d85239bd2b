"""A simulated ESP32 keypad device on MQTT, pressing keys on a ``SimulatedMeter``.

It behaves like the firmware: a last will marks it offline, a retained status
marks it online, command ids are deduplicated (a repeat is answered with the
earlier result and nothing is pressed), and keys take real time (65 ms press,
500 ms gap) unless ``time_scale`` speeds that up for tests. A command with empty
``keys`` and ``enter: false`` is a status query: an unknown id is answered
``ok: false, error: "unknown_id"``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.sim.meter import SimulatedMeter

log = logging.getLogger(__name__)

PRESS_S = 0.065
GAP_S = 0.5
REMEMBERED_IDS = 500
DEVICE_NAME = "keypad"
VERSION = "sim-1"


def _rtc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SimulatedKeypadDevice:
    """The keypad firmware's behaviour, for one meter."""

    def __init__(
        self,
        meter: SimulatedMeter,
        broker_url: str,
        *,
        prefix: str = "tokenmeter",
        time_scale: float = 1.0,
        username: str = "",
        password: str = "",
        ca_file: str = "",
        meter_id: str = "",
    ) -> None:
        self.meter = meter
        self.meter_id = meter_id or meter.meter_id
        self.time_scale = time_scale
        self.link = MqttLink(
            broker_url,
            prefix=prefix,
            username=username,
            password=password,
            ca_file=ca_file,
            client_id=f"sim-keypad-{self.meter_id}-{id(self):x}",
            will=(self.meter_id, "status", {"online": False, "device": DEVICE_NAME}),
            keepalive=5,
        )
        self.commands_received = 0
        self.commands_pressed = 0
        self._results: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._in_progress: set[str] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._worker = threading.Thread(
            target=self._work, name=f"sim-keypad-{self.meter_id}", daemon=True
        )
        self.link.on_connection_change(self._on_connection)
        self.link.subscribe(self.meter_id, "keypad/cmd", self._on_command)

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()
        self.link.start()

    def stop(self) -> None:
        """Say goodbye (retained offline) and disconnect; a crash would leave the will."""
        if self.link.connected:
            info = self.link.publish(
                self.meter_id,
                "status",
                {"online": False, "device": DEVICE_NAME},
                retain=True,
            )
            info.wait_for_publish(2)
        self.link.stop()
        self._queue.put(None)
        if self._worker.is_alive():
            self._worker.join(timeout=5)

    def _on_connection(self, connected: bool) -> None:
        if connected:
            self.link.publish(
                self.meter_id,
                "status",
                {"online": True, "device": DEVICE_NAME, "version": VERSION, "rtc": _rtc_now()},
                retain=True,
            )

    # -- commands (paho's thread) ---------------------------------------------
    def _on_command(self, meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        command_id = payload.get("id")
        keys = payload.get("keys", "")
        if not isinstance(command_id, str) or not command_id or not isinstance(keys, str):
            log.warning("simulated keypad ignored a malformed command")
            return
        self.commands_received += 1
        with self._lock:
            earlier = self._results.get(command_id)
            busy = command_id in self._in_progress
            if earlier is None and not busy and keys:
                self._in_progress.add(command_id)
        if earlier is not None:
            self._answer(earlier)  # a repeat: the same answer, nothing pressed
            return
        if busy:
            return  # still typing it; the answer follows
        if not keys:
            self._answer(self._result(command_id, False, 0, "unknown_id"))
            return
        self._queue.put(payload)

    # -- typing (worker thread) -----------------------------------------------
    def _work(self) -> None:
        while True:
            command = self._queue.get()
            if command is None:
                return
            result = self._type(command)
            with self._lock:
                self._results[result["id"]] = result
                while len(self._results) > REMEMBERED_IDS:
                    self._results.popitem(last=False)
                self._in_progress.discard(result["id"])
            self._answer(result)

    def _type(self, command: dict[str, Any]) -> dict[str, Any]:
        keys: str = command["keys"]
        if not keys.isdigit():
            return self._result(command["id"], False, 0, "bad_keys")
        pressed = 0
        sequence = list(keys) + (["ENTER"] if command.get("enter", True) else [])
        for key in sequence:
            time.sleep(PRESS_S * self.time_scale)
            self.meter.press(key)
            pressed += 1
            time.sleep(GAP_S * self.time_scale)
        self.commands_pressed += 1
        log.info("simulated keypad typed command %s (%d keys)", command["id"], pressed)
        return self._result(command["id"], True, pressed, "")

    def _result(self, command_id: str, ok: bool, pressed: int, error: str) -> dict[str, Any]:
        return {"id": command_id, "ok": ok, "pressed": pressed, "error": error, "rtc": _rtc_now()}

    def _answer(self, result: dict[str, Any]) -> None:
        self.link.publish(self.meter_id, "keypad/result", result, qos=1)
