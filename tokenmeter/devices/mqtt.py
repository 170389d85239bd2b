"""The MQTT link: one paho client, the topic prefix added here and nowhere else.

paho does the reconnecting (``connect_async`` + ``loop_start``, backoff from
``reconnect_delay_set``); subscriptions are renewed on every connect. Handlers run
on paho's thread: hand work to asyncio with ``run_coroutine_threadsafe``.

An exception that escapes a paho callback ends paho's network thread without a word,
and with it the link, while ``connected`` still says yes. So every callback given to
paho is guarded (``guarded``, and ``_on_message`` around each message): a failure is
logged at WARNING with the topic and where it was raised, never with the exception's
message or the payload, either of which may hold a token. Payloads are parsed by
``parse_object``, which refuses what is too large or too deep before parsing.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tokenmeter.devices.payload import PayloadRefused, parse_object
from tokenmeter.errors import BrokerUnavailable

log = logging.getLogger(__name__)
P = ParamSpec("P")

MessageHandler = Callable[[str, str, dict[str, Any]], None]
"""``(meter_id, leaf, payload)``; leaf is the topic after ``{prefix}/{meter}/``."""


def raised_at(err: BaseException) -> str:
    """``file.py:line`` where ``err`` was raised: enough to find the fault, without the
    exception's message (which may quote a payload)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def guarded(callback: Callable[P, None], logger: logging.Logger) -> Callable[P, None]:
    """``callback`` made safe for paho: an exception is logged at WARNING, not raised."""

    @functools.wraps(callback)
    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            callback(*args, **kwargs)
        except Exception as err:
            logger.warning(
                "MQTT callback %s failed: %s at %s",
                callback.__name__,
                type(err).__name__,
                raised_at(err),
            )

    return call


def topic_of(msg: mqtt.MQTTMessage) -> str:
    """The message's topic, or a placeholder when it is not UTF-8."""
    try:
        return msg.topic
    except UnicodeDecodeError:
        return "<topic not UTF-8>"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    @staticmethod
    def parse(url: str) -> BrokerAddress:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parsed.hostname:
            raise BrokerUnavailable(
                f"bad MQTT url {url!r}: use mqtt://host:1883 or mqtts://host:8883"
            )
        tls = parsed.scheme in ("mqtts", "ssl")
        return BrokerAddress(parsed.hostname, parsed.port or (8883 if tls else 1883), tls)


@dataclass
class _Subscription:
    pattern: str
    handler: MessageHandler
    qos: int


class MqttLink:
    """Publish and subscribe under ``{prefix}/{meter}/...`` with automatic reconnect."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tokenmeter",
        username: str = "",
        password: str = "",
        ca_file: str = "",
        client_id: str = "",
        will: tuple[str, str, dict[str, Any]] | None = None,
        keepalive: int = 30,
    ) -> None:
        self.address = BrokerAddress.parse(url)
        self.prefix = prefix.strip("/")
        self._subs: list[_Subscription] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._listeners: list[Callable[[bool], None]] = []
        self._keepalive = keepalive
        self._started = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"tokenmeter-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_queued_messages_set(10_000)
        if username:
            self.client.username_pw_set(username, password or None)
        if self.address.tls:
            self.client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        if will is not None:
            meter_id, leaf, payload = will
            self.client.will_set(
                self.topic(meter_id, leaf), json.dumps(payload), qos=1, retain=True
            )
        self._failing = False  # warned about the current run of failed connects
        self.client.on_connect = guarded(self._on_connect, log)
        self.client.on_disconnect = guarded(self._on_disconnect, log)
        self.client.on_connect_fail = guarded(self._on_connect_fail, log)
        self.client.on_message = guarded(self._on_message, log)

    # -- topics ---------------------------------------------------------------
    def topic(self, meter_id: str, leaf: str) -> str:
        """``{prefix}/{meter}/{leaf}`` — the only place the prefix is added."""
        return f"{self.prefix}/{meter_id}/{leaf}"

    def split(self, topic: str) -> tuple[str, str] | None:
        """``(meter_id, leaf)`` of a topic under the prefix, or None."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            return None
        meter_id, _, leaf = topic[len(head) :].partition("/")
        return (meter_id, leaf) if meter_id and leaf else None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        """Begin connecting in the background; a broker that is down is retried."""
        if self._started:
            return
        self._started = True
        self.client.connect_async(self.address.host, self.address.port, self._keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self._set_connected(False)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def on_connection_change(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)

    # -- messages -------------------------------------------------------------
    def publish(
        self,
        meter_id: str,
        leaf: str,
        payload: dict[str, Any],
        *,
        qos: int = 1,
        retain: bool = False,
    ) -> mqtt.MQTTMessageInfo:
        """Publish JSON. With QoS 1 paho keeps it queued while disconnected."""
        return self.client.publish(
            self.topic(meter_id, leaf),
            json.dumps(payload, separators=(",", ":")),
            qos=qos,
            retain=retain,
        )

    def subscribe(self, meter_id: str, leaf: str, handler: MessageHandler, *, qos: int = 1) -> None:
        """Subscribe (``meter_id`` may be ``+``); renewed after every reconnect."""
        sub = _Subscription(self.topic(meter_id, leaf), handler, qos)
        with self._lock:
            self._subs.append(sub)
        if self.connected:
            self.client.subscribe(sub.pattern, qos)

    # -- paho callbacks (paho's thread) ---------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning(
                "MQTT connect to %s:%s refused: %s", self.address.host, self.address.port, reason
            )
            return
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            client.subscribe(sub.pattern, sub.qos)
        log.info("MQTT connected to %s:%s", self.address.host, self.address.port)
        self._failing = False
        self._set_connected(True)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        """No TCP or TLS connection (paho keeps retrying): say so once per outage."""
        if self._failing or not self._started:
            return
        self._failing = True
        hint = " over TLS (is [mqtt] ca_file the broker's CA?)" if self.address.tls else ""
        log.warning(
            "MQTT cannot connect to %s:%s%s; retrying", self.address.host, self.address.port, hint
        )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self._started:
            log.warning("MQTT disconnected (%s); reconnecting", reason)
        self._set_connected(False)

    def _set_connected(self, state: bool) -> None:
        was = self._connected.is_set()
        if state:
            self._connected.set()
        else:
            self._connected.clear()
        if was != state:
            for listener in list(self._listeners):
                try:
                    listener(state)
                except Exception:
                    log.exception("connection listener failed")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Give a message to its handlers; whatever it holds, nothing escapes to paho."""
        topic = topic_of(msg)
        try:
            self._dispatch(topic, msg.payload)
        except Exception as err:
            log.warning(
                "MQTT message on %s dropped: %s at %s", topic, type(err).__name__, raised_at(err)
            )

    def _dispatch(self, topic: str, raw: bytes | bytearray) -> None:
        parts = self.split(topic)
        if parts is None:
            return
        try:
            payload = parse_object(raw)
        except PayloadRefused as err:
            log.warning("ignored malformed MQTT payload on %s: %s", topic, err)
            return
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if mqtt.topic_matches_sub(sub.pattern, topic):
                try:
                    sub.handler(parts[0], parts[1], payload)
                except Exception as err:
                    log.warning(
                        "MQTT handler for %s failed: %s at %s",
                        topic,
                        type(err).__name__,
                        raised_at(err),
                    )
