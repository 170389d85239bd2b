"""A test-side MQTT subscriber that records what the PC publishes (e.g. keypad commands)."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tokenmeter.devices.broker import LocalBroker


class TopicWatcher:
    """Records every JSON message on a topic filter; subscribed before ``__init__`` returns."""

    def __init__(self, broker: LocalBroker, topic: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(10), f"could not subscribe to {topic}"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(json.loads(msg.payload))

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def keys(self) -> list[object]:
        """The ``keys`` of every keypad command that types something; queries and
        probes (empty ``keys``, ``enter`` false) press nothing and are left out."""
        return [message.get("keys") for message in self.all() if message.get("keys")]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
