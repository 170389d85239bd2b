"""A fake ``umqtt.simple``: ``MQTTClient`` with the library's API against an
in-memory broker that keeps retained messages, sends last wills and can go down."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ECONNREFUSED = 111


def topic_matches(pattern: str, topic: str) -> bool:
    pat, top = pattern.split("/"), topic.split("/")
    for i, part in enumerate(pat):
        if part == "#":
            return True
        if i >= len(top) or (part != "+" and part != top[i]):
            return False
    return len(pat) == len(top)


@dataclass
class Published:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    client_id: str

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class FakeBroker:
    """One broker per test. ``up = False`` refuses connections; ``drop()`` cuts
    every session as a crashed broker would (last wills are sent)."""

    up: bool = True
    published: list[Published] = field(default_factory=list)
    retained: dict[str, bytes] = field(default_factory=dict)
    sessions: list[FakeMQTTClient] = field(default_factory=list)
    connects: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, message: Published) -> None:
        self.published.append(message)
        if message.retain:
            self.retained[message.topic] = message.payload
        for session in list(self.sessions):
            if any(topic_matches(p, message.topic) for p in session.subscriptions):
                session.inbox.append((message.topic, message.payload))

    def inject(self, topic: str, payload: Any, *, retain: bool = False) -> None:
        """A message from the PC side."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.deliver(Published(topic, data, retain, 1, "pc"))

    def drop(self) -> None:
        for session in list(self.sessions):
            self._lose(session)

    def _lose(self, session: FakeMQTTClient) -> None:
        session.alive = False
        if session in self.sessions:
            self.sessions.remove(session)
        if session.will is not None:
            topic, msg, retain, qos = session.will
            self.deliver(Published(topic, msg, retain, qos, session.client_id))

    def on(self, topic: str) -> list[Any]:
        """JSON payloads published on ``topic``, oldest first."""
        return [m.json() for m in self.published if m.topic == topic]


class _Sock:
    def __init__(self, client: FakeMQTTClient) -> None:
        self.client = client
        self.closed = False

    def close(self) -> None:
        self.closed = True
        if self.client.alive:
            self.client.broker._lose(self.client)  # no DISCONNECT: the will goes out


class FakeMQTTClient:
    """umqtt.simple.MQTTClient's API and behaviour that the firmware relies on."""

    broker: FakeBroker  # set on the per-test subclass

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
        self.will: tuple[str, bytes, bool, int] | None = None
        self.subscriptions: list[str] = []
        self.inbox: list[tuple[str, bytes]] = []
        self.alive = False
        self.pings = 0
        self.sock: _Sock | None = None

    def set_callback(self, f: Callable[[bytes, bytes], None]) -> None:
        self.cb = f

    def set_last_will(self, topic: str, msg: str, retain: bool = False, qos: int = 0) -> None:
        self.will = (topic, msg.encode() if isinstance(msg, str) else msg, retain, qos)

    def connect(self, clean_session: bool = True) -> int:
        if not self.broker.up:
            raise OSError(ECONNREFUSED)
        self.sock = _Sock(self)
        self.alive = True
        self.broker.sessions.append(self)
        self.broker.connects.append(
            {"client_id": self.client_id, "clean": clean_session, "will": self.will}
        )
        return 0

    def _check(self) -> None:
        if not self.alive:
            raise OSError(-1)

    def subscribe(self, topic: str, qos: int = 0) -> None:
        assert self.cb is not None, "Subscribe callback is not set"
        self._check()
        self.subscriptions.append(topic)
        for retained_topic, payload in self.broker.retained.items():
            if topic_matches(topic, retained_topic):
                self.inbox.append((retained_topic, payload))

    def publish(self, topic: str, msg: str | bytes, retain: bool = False, qos: int = 0) -> None:
        self._check()
        data = msg.encode() if isinstance(msg, str) else bytes(msg)
        self.broker.deliver(Published(topic, data, retain, qos, self.client_id))

    def check_msg(self) -> int | None:
        self._check()
        if not self.inbox:
            return None
        topic, payload = self.inbox.pop(0)
        assert self.cb is not None
        self.cb(topic.encode(), payload)
        return 0x30

    def wait_msg(self) -> int | None:
        return self.check_msg()

    def ping(self) -> None:
        self._check()
        self.pings += 1

    def disconnect(self) -> None:
        self._check()
        self.alive = False
        self.broker.sessions.remove(self)  # a clean DISCONNECT: no will


def make_modules(
    broker: FakeBroker, client_class: type | None = None
) -> dict[str, types.ModuleType]:
    """``umqtt`` and ``umqtt.simple`` whose MQTTClient talks to ``broker``
    (or ``client_class``, e.g. the paho adapter)."""
    simple = types.ModuleType("umqtt.simple")
    simple.MQTTClient = client_class or type(  # type: ignore[attr-defined]
        "MQTTClient", (FakeMQTTClient,), {"broker": broker}
    )
    simple.MQTTException = type("MQTTException", (Exception,), {})  # type: ignore[attr-defined]
    package = types.ModuleType("umqtt")
    package.simple = simple  # type: ignore[attr-defined]
    package.__path__ = []
    return {"umqtt": package, "umqtt.simple": simple}
