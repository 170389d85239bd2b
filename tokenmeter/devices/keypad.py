"""The keypad link: keypad commands out, results and device status in, over MQTT.

Topics (DESIGN.md): ``{p}/{meter}/keypad/cmd`` ``{"id","keys","enter","ts"}`` QoS 1,
``{p}/{meter}/keypad/result`` ``{"id","ok","pressed","error","rtc"}``, retained
``{p}/{meter}/status`` ``{"online",...}`` (the last will says offline). Payloads that
are not what the firmware sends are logged and ignored. Paho calls back on its own
thread; everything is handed to the asyncio loop given to ``start``.

The retained status is a hint, not proof: a broker that dies takes the keypad's last
will with it, and the status it had stays "online". ``probe`` is the proof: a query
about a fresh id, which only a keypad that is there now answers (``unknown_id``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.domain import DeviceStatus, new_id, utcnow
from tokenmeter.events import DeviceChanged, EventBus
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

KEYPAD = "keypad"
_KEPT_RESULTS = 200

StatusListener = Callable[[str, DeviceStatus], Awaitable[None]]
"""Called on the loop with ``(meter_id, status)`` for every status message of a keypad."""
ResultListener = Callable[[str, "KeypadResult"], Awaitable[None]]
"""Called on the loop with ``(meter_id, result)`` for every command result (probes aside)."""
PROBE_PREFIX = "probe-"


@dataclass(frozen=True)
class KeypadResult:
    """The device's answer to one command."""

    id: str
    ok: bool
    pressed: int
    error: str = ""
    rtc: str = ""


def parse_result(payload: dict[str, Any]) -> KeypadResult | None:
    """A result payload, or None when it is not one."""
    command_id, ok, pressed = payload.get("id"), payload.get("ok"), payload.get("pressed", 0)
    if not isinstance(command_id, str) or not command_id or not isinstance(ok, bool):
        return None
    if not isinstance(pressed, int) or isinstance(pressed, bool) or pressed < 0:
        return None
    error, rtc = payload.get("error") or "", payload.get("rtc") or ""
    if not isinstance(error, str) or not isinstance(rtc, str):
        return None
    return KeypadResult(command_id, ok, pressed, error, rtc)


def parse_status(payload: dict[str, Any]) -> DeviceStatus | None:
    """A status payload, or None when it is not one."""
    online, device = payload.get("online"), payload.get("device", KEYPAD)
    version = payload.get("version", "")
    if not isinstance(online, bool) or not isinstance(device, str) or not device:
        return None
    return DeviceStatus(device, online, utcnow(), version if isinstance(version, str) else "")


class KeypadLink:
    """Send keypad commands and wait for their results; follow devices' status."""

    def __init__(self, mqtt: MqttLink, store: Store | None = None, bus: EventBus | None = None):
        self.mqtt = mqtt
        self.store = store
        self.bus = bus
        self._loop: asyncio.AbstractEventLoop | None = None
        self._online: dict[str, DeviceStatus] = {}
        self._status_seen: dict[str, asyncio.Event] = {}
        self._waiters: dict[tuple[str, str], list[asyncio.Future[KeypadResult]]] = {}
        self._results: OrderedDict[tuple[str, str], KeypadResult] = OrderedDict()
        self._listeners: list[StatusListener] = []
        self._result_listeners: list[ResultListener] = []
        self._reconnect_listeners: list[Callable[[], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        """Subscribe; call from the running loop (handlers are handed to it)."""
        self._loop = asyncio.get_running_loop()
        self.mqtt.subscribe("+", "status", self._on_status)
        self.mqtt.subscribe("+", "keypad/result", self._on_result)
        self.mqtt.on_connection_change(self._on_connection)

    def on_status(self, listener: StatusListener) -> None:
        """Called for every status message of a keypad, changed or not."""
        self._listeners.append(listener)

    def on_result(self, listener: ResultListener) -> None:
        """Called for every result, also one that nobody waits for any more (a late one)."""
        self._result_listeners.append(listener)

    def on_reconnect(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Called on the loop each time the PC's link reconnects to the broker."""
        self._reconnect_listeners.append(listener)

    # -- status ---------------------------------------------------------------
    def known_offline(self, meter_id: str) -> bool:
        """The keypad said it is offline (retained status or last will)."""
        status = self._online.get(meter_id)
        return status is not None and not status.online

    async def probe(self, meter_id: str, timeout: float) -> bool:
        """Whether the keypad answers now: a query about a fresh id (nothing is pressed),
        answered ``unknown_id`` by a keypad that is there. Survives a broker restart,
        unlike the retained status."""
        probe_id = new_id(PROBE_PREFIX)
        self.send(meter_id, probe_id, "", enter=False)
        answered = await self.result(meter_id, probe_id, timeout) is not None
        self._results.pop((meter_id, probe_id), None)
        if not answered:
            log.info("keypad of %s did not answer a probe within %.0f s", meter_id, timeout)
        return answered

    def is_online(self, meter_id: str) -> bool:
        status = self._online.get(meter_id)
        return status is not None and status.online

    async def wait_status(self, meter_id: str, timeout: float) -> bool:
        """Wait until a status of this meter's keypad is known; return whether it is online."""
        if meter_id not in self._online:
            seen = self._status_seen.setdefault(meter_id, asyncio.Event())
            try:
                await asyncio.wait_for(seen.wait(), timeout)
            except TimeoutError:
                return False
        return self.is_online(meter_id)

    # -- commands -------------------------------------------------------------
    def send(self, meter_id: str, command_id: str, keys: str, *, enter: bool = True) -> None:
        """Publish one keypad command (QoS 1; paho keeps it while disconnected)."""
        payload = {"id": command_id, "keys": keys, "enter": enter, "ts": utcnow().isoformat()}
        self._results.pop((meter_id, command_id), None)  # wait for the answer to this one
        self.mqtt.publish(meter_id, "keypad/cmd", payload, qos=1)
        if keys or enter:
            log.info("keypad command %s sent to %s (%d keys)", command_id, meter_id, len(keys))
        else:
            log.debug("keypad of %s asked about %s", meter_id, command_id)

    def query(self, meter_id: str, command_id: str) -> None:
        """Ask the keypad about a command id: it answers its earlier result, or
        ``unknown_id`` when it never received it; nothing is pressed."""
        self.send(meter_id, command_id, "", enter=False)

    def known_result(self, meter_id: str, command_id: str) -> KeypadResult | None:
        """The last answer received for this command id, if any."""
        return self._results.get((meter_id, command_id))

    async def result(self, meter_id: str, command_id: str, timeout: float) -> KeypadResult | None:
        """The answer to a command (it may already have arrived), or None on timeout."""
        key = (meter_id, command_id)
        if key in self._results:
            return self._results[key]
        future: asyncio.Future[KeypadResult] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(key, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(key, None)

    # -- paho's thread ----------------------------------------------------------
    def _call_soon(self, func: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(func, *args)

    def _on_result(self, meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        result = parse_result(payload)
        if result is None:
            log.warning("ignored malformed keypad result from %s", meter_id)
            return
        self._call_soon(self._deliver, meter_id, result)

    def _on_status(self, meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        status = parse_status(payload)
        if status is None:
            log.warning("ignored malformed status from %s", meter_id)
            return
        if status.name != KEYPAD:
            return
        self._call_soon(self._status_changed, meter_id, status)

    def _on_connection(self, connected: bool) -> None:
        if connected:
            self._call_soon(self._reconnected)

    # -- on the loop ------------------------------------------------------------
    def _deliver(self, meter_id: str, result: KeypadResult) -> None:
        key = (meter_id, result.id)
        self._results[key] = result
        while len(self._results) > _KEPT_RESULTS:
            self._results.popitem(last=False)
        for future in self._waiters.pop(key, []):
            if not future.done():
                future.set_result(result)
        if not result.id.startswith(PROBE_PREFIX):
            for listener in list(self._result_listeners):
                self._spawn(self._call_result_listener(listener, meter_id, result))

    async def _call_result_listener(
        self, listener: ResultListener, meter_id: str, result: KeypadResult
    ) -> None:
        try:
            await listener(meter_id, result)
        except Exception:
            log.exception("keypad result listener failed")

    def _status_changed(self, meter_id: str, status: DeviceStatus) -> None:
        before = self._online.get(meter_id)
        self._online[meter_id] = status
        self._status_seen.setdefault(meter_id, asyncio.Event()).set()
        changed = before is None or before.online != status.online
        if changed:
            log.info("keypad of %s is %s", meter_id, "online" if status.online else "offline")
        self._spawn(self._announce(meter_id, status, changed))

    async def _announce(self, meter_id: str, status: DeviceStatus, changed: bool) -> None:
        """Store and publish a change; tell the listeners of every status message (a
        keypad that says "online" again after a broker restart is news to them too)."""
        if changed and self.store is not None:
            try:
                await asyncio.to_thread(self.store.set_device_status, meter_id, status)
            except Exception:
                log.exception("storing the keypad status of %s failed", meter_id)
        if changed and self.bus is not None:
            await self.bus.publish(DeviceChanged(meter_id, status))
        for listener in list(self._listeners):
            try:
                await listener(meter_id, status)
            except Exception:
                log.exception("keypad status listener failed")

    def _reconnected(self) -> None:
        for listener in list(self._reconnect_listeners):
            self._spawn(listener())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Wait for status work already started (stores, events) to finish."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
