"""The Wi-Fi + MQTT link: last will, status, reconnect with backoff, outbox."""

from __future__ import annotations

from typing import Any

from tests.firmware.conftest import Firmware

STATUS = "tokenmeter/rumah/status"
CMD = "tokenmeter/rumah/keypad/cmd"


def make_link(esp32: Firmware, **kwargs: Any) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    link_module = esp32.load("link")
    network = esp32.load("network")
    feeds: list[int] = []
    options: dict[str, Any] = {
        "ssid": "wifi",
        "wifi_password": "pw",
        "server": "broker.local",
        "client_id": "tokenmeter-rumah-keypad",
        "meter": "rumah",
        "status_extra": lambda: {"device": "keypad", "version": "t"},
        "feed": lambda: feeds.append(1),
    }
    options.update(kwargs)
    link = link_module.Link(network.WLAN(network.STA_IF), **options)
    received: list[tuple[str, dict[str, Any]]] = []
    link.subscribe("keypad/cmd", lambda leaf, payload: received.append((leaf, payload)))
    link.feeds = feeds
    return link, received


def test_connect_sets_the_last_will_and_publishes_retained_online(esp32: Firmware) -> None:
    """Will {"online": false} retained QoS 1; {"online": true, ...} retained on connect."""
    link, _ = make_link(esp32)
    assert link.ensure()
    connect = esp32.broker.connects[-1]
    assert connect["will"] == (STATUS, b'{"online": false}', True, 1)
    assert connect["clean"] is False
    assert esp32.broker.on(STATUS)[-1] == {"online": True, "device": "keypad", "version": "t"}
    assert esp32.broker.published[-1].retain
    esp32.broker.drop()
    assert esp32.broker.on(STATUS)[-1] == {"online": False}
    assert esp32.broker.retained[STATUS] == b'{"online": false}'


def test_broker_drop_backs_off_then_reconnects_and_resubscribes(esp32: Firmware) -> None:
    """Lost session -> retries 1 s, 3 s, 7 s later while down -> subscribed again when back."""
    link, received = make_link(esp32, backoff_min_ms=1000, backoff_max_ms=60000)
    assert link.ensure()
    esp32.broker.up = False
    esp32.broker.drop()
    link.poll()
    assert not link.connected
    attempts = []
    for elapsed in range(100, 10_000, 100):
        esp32.clock.advance(100)
        before = link.failures
        link.ensure()
        if link.failures != before:
            attempts.append(elapsed)
    assert attempts == [1000, 3000, 7000]
    assert link.backoff_ms == 8000
    esp32.broker.up = True
    esp32.clock.advance(5100)  # t = 15 s: the next attempt
    assert link.ensure()
    assert link.connects == 2
    assert CMD in esp32.broker.sessions[0].subscriptions
    esp32.broker.inject(CMD, {"id": "a"})
    link.poll()
    assert received == [("keypad/cmd", {"id": "a"})]
    assert esp32.broker.on(STATUS)[-1]["online"] is True


def test_backoff_is_capped(esp32: Firmware) -> None:
    """Delays double up to backoff_max_ms and stay there."""
    link, _ = make_link(esp32, backoff_min_ms=1000, backoff_max_ms=5000)
    esp32.broker.up = False
    delays = []
    for _ in range(6):
        link.ensure()
        delays.append(link.backoff_ms)
        esp32.clock.advance(link.backoff_ms)
    assert delays == [1000, 2000, 4000, 5000, 5000, 5000]


def test_wifi_down_times_out_feeding_the_watchdog(esp32: Firmware) -> None:
    """No access point: the connect gives up after wifi_timeout_ms, feeding the WDT."""
    esp32.board.wifi_up = False
    link, _ = make_link(esp32, wifi_timeout_ms=3000)
    assert not link.ensure()
    assert link.feeds and len(link.feeds) >= 25
    assert esp32.broker.connects == []
    esp32.board.wifi_up = True
    esp32.clock.advance(link.backoff_ms)
    assert link.ensure()


def test_kept_messages_wait_in_the_outbox_and_go_out_in_order(esp32: Firmware) -> None:
    """Results published while offline are sent after reconnecting, oldest first."""
    link, _ = make_link(esp32)
    esp32.broker.up = False
    link.ensure()
    assert not link.publish("event", {"n": 0})  # not kept: lost
    for n in range(1, 4):
        link.publish("event", {"n": n}, qos=1, keep=True)
    esp32.broker.up = True
    esp32.clock.advance(link.backoff_ms)
    link.ensure()
    assert esp32.broker.on("tokenmeter/rumah/event") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert link.outbox == []


def test_outbox_drops_the_oldest_beyond_16(esp32: Firmware) -> None:
    """A long outage keeps the newest 16 kept messages."""
    link, _ = make_link(esp32)
    for n in range(20):
        link.publish("event", {"n": n}, keep=True)
    assert [payload["n"] for _, payload, _, _ in link.outbox] == list(range(4, 20))


def test_malformed_messages_and_failing_handlers_keep_the_session(esp32: Firmware) -> None:
    """Bad JSON, a JSON list and a handler that raises are logged, not fatal."""
    link, received = make_link(esp32)

    def explode(leaf: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    link.subscribe("schedule", explode)
    link.ensure()
    esp32.broker.inject(CMD, b"{oops")
    esp32.broker.inject(CMD, b"[1, 2]")
    esp32.broker.inject("tokenmeter/rumah/schedule", {"times": []})
    esp32.broker.inject(CMD, {"id": "ok"})
    link.poll()
    assert link.connected
    assert received == [("keypad/cmd", {"id": "ok"})]


def test_ping_every_half_keepalive(esp32: Firmware) -> None:
    """With keepalive 30 s the link pings after 15 s of polling."""
    link, _ = make_link(esp32, keepalive=30)
    link.ensure()
    session = esp32.broker.sessions[0]
    for _ in range(32):
        esp32.clock.advance(1000)
        link.poll()
    assert session.pings == 2


def test_clean_close_sends_no_will(esp32: Firmware) -> None:
    """close() disconnects cleanly: the broker keeps the retained online status."""
    link, _ = make_link(esp32)
    link.ensure()
    link.close()
    assert not link.connected
    assert esp32.broker.on(STATUS)[-1]["online"] is True


def test_wifi_loss_drops_the_session_and_rejoins(esp32: Firmware) -> None:
    """Wi-Fi gone: the link stops trusting its socket, then rejoins Wi-Fi and the broker."""
    link, _ = make_link(esp32)
    assert link.ensure()
    esp32.board.wifi_up = False
    link.poll()
    assert not link.connected
    esp32.board.wifi_up = True
    esp32.clock.advance(link.backoff_ms)
    assert link.ensure()
    assert esp32.board.wifi_connects == 2
