"""The device side of the Blynk.Cloud MQTT API, with its own paho client.

Blynk.Cloud: broker ``blynk.cloud:8883`` (TLS), username ``device``, password =
the device auth token, clean session. The device subscribes to ``downlink/#``;
app writes arrive on ``downlink/ds/<datastream name>`` as plain text and the
device publishes values on ``ds/<datastream name>``. The broker may publish
``downlink/redirect`` (``host:port``) right after connecting; the client then
moves to that server, once the payload is checked to be a host name or IP address
with an optional port; anything else is refused and the link stays where it is.
paho reconnects with backoff; subscriptions are renewed on every connect. Every
callback is guarded: an exception would end paho's thread, and with it the link.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import ssl
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bot.blynk.transport import WriteHandler
from tokenmeter.devices.mqtt import guarded, raised_at, topic_of

log = logging.getLogger(__name__)

USERNAME = "device"
DOWNLINK = "downlink/"
DOWNLINK_DATASTREAM = "downlink/ds/"
REDIRECT = "downlink/redirect"
KEEPALIVE_S = 45  # Blynk's recommendation


MAX_REDIRECT_CHARS = 300
_REDIRECT_SCHEMES = frozenset({"mqtt", "mqtts", "tcp", "ssl", "tls"})
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_host(text: str) -> bool:
    """A DNS host name (letters, digits, hyphens; labels of 1-63) or an IPv4 address."""
    if not text or len(text) > 253 or not text.isascii():
        return False
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        pass
    return all(_HOST_LABEL.fullmatch(label) for label in text.split("."))


def _port(text: str, default: int) -> int | None:
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def parse_redirect(payload: str, default_port: int) -> tuple[str, int] | None:
    """``"ny3.blynk.cloud:8883"`` (or with an ``mqtts://`` scheme, or ``[IPv6]:port``)
    → host and port; None for anything that is not a host with an optional port."""
    text = payload.strip()
    if not text or len(text) > MAX_REDIRECT_CHARS or not text.isascii():
        return None
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme.lower() not in _REDIRECT_SCHEMES:
            return None
        text = rest
    text = text.removesuffix("/")
    if text.startswith("["):
        host, closed, after = text[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        if not closed or (after and not after.startswith(":")):
            return None
        port = _port(after[1:], default_port)
    else:
        host, colon, port_text = text.partition(":")
        if not is_host(host) or (colon and not port_text):
            return None
        port = _port(port_text, default_port)
    return None if port is None else (host, port)


class BlynkMqttTransport:
    """A ``BlynkTransport`` over the Blynk.Cloud MQTT API."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        auth_token: str,
        tls: bool = True,
        ca_file: str = "",
        client_id: str = "",
        keepalive: int = KEEPALIVE_S,
        reconnect_max_delay: int = 30,
    ) -> None:
        self.host = host
        self.port = port
        self._keepalive = keepalive
        self._on_write: WriteHandler | None = None
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._started = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"tokenmeter-blynk-{uuid.uuid4().hex[:10]}",
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        self.client.username_pw_set(USERNAME, auth_token)
        self.client.reconnect_delay_set(min_delay=1, max_delay=reconnect_max_delay)
        self.client.max_queued_messages_set(1000)
        if tls:
            self.client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = guarded(self._on_connect, log)
        self.client.on_disconnect = guarded(self._on_disconnect, log)
        self.client.on_subscribe = guarded(self._on_subscribe, log)
        self.client.on_message = guarded(self._on_message, log)

    # -- BlynkTransport ------------------------------------------------------------
    def start(self, on_write: WriteHandler) -> None:
        with self._lock:
            if self._started:
                return
            self._on_write = on_write
            self._started = True
            self.client.connect_async(self.host, self.port, self._keepalive)
            self.client.loop_start()
        log.info("Blynk MQTT connecting to %s:%s", self.host, self.port)

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            try:
                self.client.disconnect()
            finally:
                self.client.loop_stop()
                self._connected.clear()

    def write(self, pin: str, value: str) -> None:
        # QoS 1: paho keeps it while disconnected and sends it after reconnecting
        self.client.publish(f"ds/{pin}", value.encode("utf-8"), qos=1)

    @property
    def connected(self) -> bool:
        """Connected and subscribed to ``downlink/#`` (app writes can arrive)."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- paho's thread ---------------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error(
                "Blynk MQTT %s:%s refused the connection (%s): check the device auth token",
                self.host,
                self.port,
                reason,
            )
            return
        client.subscribe(DOWNLINK + "#", qos=1)  # connected once the broker grants it

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(getattr(reason, "is_failure", False) for reason in reasons):
            log.error("Blynk MQTT refused the downlink/# subscription: %s", reasons)
            return
        self._connected.set()
        log.info("Blynk MQTT connected to %s:%s", self.host, self.port)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and self._started:
            log.warning("Blynk MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Route one downlink message; whatever it holds, nothing escapes to paho."""
        topic = topic_of(msg)
        try:
            self._dispatch(topic, msg.payload)
        except Exception as err:
            # the value may be a token typed in the app: name the topic only
            log.warning(
                "Blynk message on %s dropped: %s at %s", topic, type(err).__name__, raised_at(err)
            )

    def _dispatch(self, topic: str, raw: bytes | bytearray) -> None:
        if topic == REDIRECT:
            self._redirect(raw)
            return
        if not topic.startswith(DOWNLINK_DATASTREAM):
            log.debug("ignored Blynk downlink %s", topic)
            return
        name = topic[len(DOWNLINK_DATASTREAM) :]
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("ignored Blynk write on %s: not UTF-8 text", name)
            return
        value = value.split("\0", 1)[0]  # multi-value datastreams: the first item
        handler = self._on_write
        if handler is None:
            return
        try:
            handler(name, value)
        except Exception as err:
            log.warning(
                "Blynk write handler for %s failed: %s at %s",
                name,
                type(err).__name__,
                raised_at(err),
            )

    def _redirect(self, raw: bytes | bytearray) -> None:
        target = parse_redirect(raw.decode("utf-8", errors="replace"), self.port)
        if target is None:
            log.warning(
                "refused Blynk redirect (%d bytes): not a host name or IP address with an "
                "optional port; staying on %s:%s",
                len(raw),
                self.host,
                self.port,
            )
            return
        log.info("Blynk MQTT redirected to %s:%s", *target)
        # paho's own thread cannot restart itself: move from a short-lived thread
        threading.Thread(
            target=self._move_to, args=target, name="blynk-mqtt-redirect", daemon=True
        ).start()

    def _move_to(self, host: str, port: int) -> None:
        with self._lock:
            if not self._started:
                return
            self.client.disconnect()
            self.client.loop_stop()
            self._connected.clear()
            self.host, self.port = host, port
            self.client.connect_async(host, port, self._keepalive)
            self.client.loop_start()
