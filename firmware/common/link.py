# The device's network link: Wi-Fi + MQTT (umqtt.simple) with last will,
# reconnect with backoff and an outbox for messages that must not be lost.
#
# Reconnection is this module's job: application code calls ensure() and
# poll() in its loop and publish() whenever it likes; it never sees a dropped
# socket. umqtt.simple comes from micropython-lib: mip.install("umqtt.simple").
import gc
import json
import time

_OUTBOX_MAX = 16


def _default_client_factory(client_id, server, port, user, password, keepalive):
    from umqtt.simple import MQTTClient

    return MQTTClient(
        client_id, server, port=port, user=user, password=password, keepalive=keepalive
    )


class Link:
    """Publish/subscribe JSON under ``{prefix}/{meter}/...`` and stay connected.

    ``wlan`` is a ``network.WLAN(network.STA_IF)``; ``client_factory`` builds an
    umqtt.simple-compatible ``MQTTClient`` (tests pass fakes or a paho adapter).
    ``status_extra`` is called on every connect; its dict is merged into the
    retained ``{"online": true, ...}`` status.
    """

    def __init__(
        self,
        wlan,
        *,
        ssid,
        wifi_password,
        server,
        port=1883,
        user=None,
        password=None,
        client_id,
        prefix="tokenmeter",
        meter="meter",
        status_leaf="status",
        will_extra=None,
        status_extra=None,
        keepalive=30,
        backoff_min_ms=1000,
        backoff_max_ms=60000,
        wifi_timeout_ms=15000,
        clean_session=False,
        client_factory=None,
        feed=None,
    ):
        self._wlan = wlan
        self._ssid = ssid
        self._wifi_password = wifi_password
        self._server = server
        self._port = port
        self._user = user or None
        self._password = password or ""  # umqtt.simple needs a str when user is set
        self._client_id = client_id
        self._base = prefix.strip("/") + "/" + meter + "/"
        self._status_leaf = status_leaf
        self._will = {"online": False}
        if will_extra:
            self._will.update(will_extra)
        self.status_extra = status_extra
        self._keepalive = keepalive
        self._backoff_min_ms = backoff_min_ms
        self._backoff_max_ms = backoff_max_ms
        self._wifi_timeout_ms = wifi_timeout_ms
        self._clean_session = clean_session
        self._factory = client_factory or _default_client_factory
        self._feed = feed or (lambda: None)
        self._handlers = {}
        self._client = None
        self._backoff_ms = 0
        self._next_attempt = time.ticks_ms()
        self._last_ping = self._next_attempt
        self.outbox = []
        self.connects = 0
        self.failures = 0

    # -- topics ----------------------------------------------------------
    def topic(self, leaf):
        """``{prefix}/{meter}/{leaf}``: the only place the prefix is added."""
        return self._base + leaf

    @property
    def connected(self):
        return self._client is not None

    @property
    def backoff_ms(self):
        return self._backoff_ms

    def subscribe(self, leaf, handler):
        """``handler(leaf, payload_dict)``; renewed on every connect."""
        self._handlers[self.topic(leaf)] = (leaf, handler)
        if self._client is not None:
            try:
                self._client.subscribe(self.topic(leaf), 1)
            except Exception as exc:
                self._drop("subscribe", exc)

    # -- connection ------------------------------------------------------
    def ensure(self):
        """Connect if down and the backoff delay has passed; True when connected."""
        if self._client is not None:
            return True
        if time.ticks_diff(time.ticks_ms(), self._next_attempt) < 0:
            return False
        client = None
        try:
            self._connect_wifi()
            client = self._factory(
                self._client_id,
                self._server,
                self._port,
                self._user,
                self._password,
                self._keepalive,
            )
            client.set_callback(self._on_message)
            client.set_last_will(
                self.topic(self._status_leaf), json.dumps(self._will), retain=True, qos=1
            )
            client.connect(clean_session=self._clean_session)
            self._client = client
            for topic in self._handlers:
                client.subscribe(topic, 1)
            status = {"online": True}
            if self.status_extra:
                status.update(self.status_extra())
            client.publish(self.topic(self._status_leaf), json.dumps(status), True, 1)
        except Exception as exc:
            self._client = None
            if client is not None:
                _close(client)
            self.failures += 1
            self._schedule_retry()
            print("link: connect failed:", repr(exc), "retry in", self._backoff_ms, "ms")
            return False
        self._backoff_ms = 0
        self.connects += 1
        self._last_ping = time.ticks_ms()
        print("link: connected to", self._server)
        self._flush()
        return self._client is not None

    def _connect_wifi(self):
        wlan = self._wlan
        if wlan.isconnected():
            return
        wlan.active(True)
        wlan.connect(self._ssid, self._wifi_password)
        started = time.ticks_ms()
        while not wlan.isconnected():
            if time.ticks_diff(time.ticks_ms(), started) > self._wifi_timeout_ms:
                raise OSError("wifi timeout")
            self._feed()
            time.sleep_ms(100)

    def _schedule_retry(self):
        if self._backoff_ms:
            self._backoff_ms = min(self._backoff_ms * 2, self._backoff_max_ms)
        else:
            self._backoff_ms = self._backoff_min_ms
        self._next_attempt = time.ticks_add(time.ticks_ms(), self._backoff_ms)

    def _drop(self, where, exc):
        print("link: lost in", where, repr(exc))
        client, self._client = self._client, None
        if client is not None:
            _close(client)
        self._schedule_retry()

    def close(self):
        """Disconnect cleanly (the broker then does NOT send the last will)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            except Exception as exc:
                print("link: disconnect failed:", repr(exc))

    # -- traffic ---------------------------------------------------------
    def poll(self):
        """Deliver waiting messages to the handlers and keep the session alive."""
        if self._client is None:
            return
        if not self._wlan.isconnected():
            # umqtt.simple cannot see a dead socket until it writes: trust the Wi-Fi state.
            self._drop("poll", OSError("wifi lost"))
            return
        try:
            for _ in range(8):
                if self._client is None or self._client.check_msg() is None:
                    break
            now = time.ticks_ms()
            if time.ticks_diff(now, self._last_ping) > self._keepalive * 500:
                self._last_ping = now
                if self._client is not None:
                    self._client.ping()
        except Exception as exc:
            self._drop("poll", exc)

    def publish(self, leaf, payload, qos=0, retain=False, keep=False):
        """Publish JSON now; with ``keep`` a message that cannot go out waits in
        the outbox (oldest dropped beyond 16) and is sent after reconnecting."""
        if self._client is not None and not self.outbox and self._send(leaf, payload, qos, retain):
            return True
        if keep:
            self.outbox.append((leaf, payload, qos, retain))
            if len(self.outbox) > _OUTBOX_MAX:
                self.outbox.pop(0)
            self._flush()
            return not self.outbox
        return False

    def _send(self, leaf, payload, qos, retain):
        try:
            self._client.publish(self.topic(leaf), json.dumps(payload), retain, qos)
        except Exception as exc:
            self._drop("publish", exc)
            return False
        return True

    def _flush(self):
        while self.outbox and self._client is not None:
            leaf, payload, qos, retain = self.outbox[0]
            if not self._send(leaf, payload, qos, retain):
                return
            self.outbox.pop(0)
            gc.collect()

    def _on_message(self, topic, msg):
        if isinstance(topic, bytes):
            topic = topic.decode()
        entry = self._handlers.get(topic)
        if entry is None:
            return
        try:
            payload = json.loads(msg) if msg else {}
        except ValueError:
            print("link: ignored malformed JSON on", topic)
            return
        if not isinstance(payload, dict):
            print("link: ignored non-object JSON on", topic)
            return
        try:
            entry[1](entry[0], payload)
        except Exception as exc:
            print("link: handler for", topic, "failed:", repr(exc))


def _close(client):
    sock = getattr(client, "sock", None)
    if sock is None:
        return
    try:
        sock.close()
    except Exception as exc:
        print("link: close failed:", repr(exc))
