"""umqtt.simple's ``MQTTClient`` API on top of paho, so the firmware's real link
talks to a real mosquitto in the end-to-end test."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

_TIMEOUT = 5.0


class PahoMQTTClient:
    """Blocking where umqtt.simple blocks (connect, subscribe, QoS 1 publish);
    ``check_msg`` hands over one queued message; a lost session raises OSError."""

    def __init__(
        self,
        client_id: str,
        server: str,
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        keepalive: int = 0,
        ssl: Any = None,
    ) -> None:
        self.client_id, self.server, self.port = client_id, server, port or 1883
        self.user, self.password, self.keepalive = user, password, keepalive
        self.cb: Callable[[bytes, bytes], None] | None = None
        self.will: tuple[str, str, bool, int] | None = None
        self.sock: _PahoSock | None = None
        self._client: mqtt.Client | None = None
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._lost = False
        self._refused = ""

    def set_callback(self, f: Callable[[bytes, bytes], None]) -> None:
        self.cb = f

    def set_last_will(self, topic: str, msg: str, retain: bool = False, qos: int = 0) -> None:
        self.will = (topic, msg, retain, qos)

    def connect(self, clean_session: bool = True) -> int:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        if self.will is not None:
            topic, msg, retain, qos = self.will
            client.will_set(topic, msg, qos=qos, retain=retain)
        if self.user:
            client.username_pw_set(self.user, self.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = lambda *args: self._subscribed.set()
        client.on_message = lambda _c, _u, msg: self._inbox.put((msg.topic, bytes(msg.payload)))
        client.connect(self.server, self.port, self.keepalive or 60)  # OSError when down
        self._client = client
        self.sock = _PahoSock(client)
        client.loop_start()
        if not self._connected.wait(_TIMEOUT):
            self.sock.close()
            raise OSError(110)
        if self._refused:  # umqtt.simple raises MQTTException(code) on a refused CONNACK
            self.sock.close()
            raise OSError(f"connection refused by the broker ({self._refused})")
        return 0

    def _on_connect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, code: Any, _p: Any
    ) -> None:
        if code.is_failure:
            self._refused = str(code)
        self._connected.set()

    def _on_disconnect(self, *args: Any) -> None:
        self._lost = True

    def _live(self) -> mqtt.Client:
        if self._client is None or self._lost:
            raise OSError(-1)
        return self._client

    def subscribe(self, topic: str, qos: int = 0) -> None:
        self._subscribed.clear()
        self._live().subscribe(topic, qos)
        if not self._subscribed.wait(_TIMEOUT):
            raise OSError(110)

    def publish(self, topic: str, msg: str | bytes, retain: bool = False, qos: int = 0) -> None:
        info = self._live().publish(topic, msg, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(_TIMEOUT)
            if not info.is_published():
                raise OSError(110)

    def check_msg(self) -> int | None:
        self._live()
        try:
            topic, payload = self._inbox.get_nowait()
        except queue.Empty:
            return None
        assert self.cb is not None
        self.cb(topic.encode(), payload)
        return 0x30

    def ping(self) -> None:
        self._live()  # paho keeps the session alive itself

    def disconnect(self) -> None:
        client = self._live()
        client.disconnect()
        client.loop_stop()


class _PahoSock:
    """``client.sock.close()``: drop the connection without DISCONNECT."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client

    def close(self) -> None:
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()
