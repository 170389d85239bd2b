"""The Blynk door: a token written in the app goes to the top-up service; states come back.

The door only translates. Validation, masking, the already-used refusal and
typing all happen in ``TopUps``, exactly as for Telegram and the CLI. The door
adds one thing the app needs: a repeated write of the same value (app retry,
reconnect sync) is ignored while that top-up is in flight and for a while after.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from bot.blynk import texts
from bot.blynk.notifier import BlynkNotifier, BlynkPins
from bot.blynk.transport import BlynkTransport
from tokenmeter.domain import FINAL_TOPUP_STATUSES, TopUp, mask_token, normalize_token
from tokenmeter.errors import InvalidToken, TokenmeterError
from tokenmeter.events import EventBus
from tokenmeter.services.api import TopUps
from tokenmeter.texts import Lang

log = logging.getLogger(__name__)

SOURCE = "blynk"
DEFAULT_REPEAT_WINDOW_S = 600.0
_STOP_GRACE_S = 5.0


class BlynkDoor:
    """Connects one Blynk device (one meter) to the top-up service and the event bus."""

    def __init__(
        self,
        transport: BlynkTransport,
        topups: TopUps,
        bus: EventBus,
        *,
        meter_id: str,
        pins: BlynkPins | None = None,
        language: Lang = "id",
        repeat_window_s: float = DEFAULT_REPEAT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.meter_id = meter_id
        self.pins = pins or BlynkPins()
        self._topups = topups
        self._bus = bus
        self._lang: Lang = language
        self._repeat_window_s = repeat_window_s
        self._clock = clock
        self.notifier = BlynkNotifier(
            transport.write,
            meter_id=meter_id,
            pins=self.pins,
            language=language,
            on_final=self._topup_finished,
        )
        # normalised value -> monotonic time until which a repeat is ignored (inf = in flight)
        self._recent: dict[str, float] = {}
        self._value_of_topup: dict[str, str] = {}
        self._tasks: set[asyncio.Task[TopUp | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Subscribe to the event bus and start the transport (connects in the background)."""
        self._loop = asyncio.get_running_loop()
        self._bus.subscribe(self.notifier)
        self.transport.start(self._on_write)
        log.info("Blynk door started for meter %s", self.meter_id)

    async def stop(self) -> None:
        """Let token entries under way finish, then stop the transport."""
        self._bus.unsubscribe(self.notifier)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_STOP_GRACE_S)
        await asyncio.to_thread(self.transport.stop)
        self._loop = None
        log.info("Blynk door stopped for meter %s", self.meter_id)

    # -- the transport's thread --------------------------------------------------
    def _on_write(self, pin: str, value: str) -> None:
        if pin != self.pins.token:
            log.debug("ignored Blynk write on %s", pin)
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("Blynk token write arrived while the door is stopped; ignored")
            return
        loop.call_soon_threadsafe(self._spawn, value)

    def _spawn(self, value: str) -> None:
        task = asyncio.get_running_loop().create_task(self.enter_token(value))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the asyncio loop ----------------------------------------------------------
    async def enter_token(self, raw: str) -> TopUp | None:
        """Start a top-up for a value written in the app; None when ignored or refused."""
        value = normalize_token(raw)
        if not value:
            return None  # the app cleared the field (or our own clear came back)
        now = self._clock()
        self._forget_expired(now)
        if value in self._recent:
            log.info("ignored repeated Blynk write of %s", mask_token(value))
            return None
        self._recent[value] = math.inf
        self.transport.write(self.pins.token, "")  # keep no digits on the Blynk server
        try:
            topup = await self._topups.start(self.meter_id, value, source=SOURCE)
        except InvalidToken as err:
            self._recent[value] = now + self._repeat_window_s
            log.info("Blynk token %s refused: %s", mask_token(value), err.reason)
            self.notifier.show_refused(texts.refused_text(err, self._lang))
            return None
        except TokenmeterError as err:
            del self._recent[value]  # nothing was stored: a retry may work
            log.warning("Blynk top-up of %s not started: %s", mask_token(value), err.code)
            self.notifier.show_refused(texts.refused_text(err, self._lang), texts.STATE_ERROR)
            return None
        except Exception:
            del self._recent[value]
            log.exception("Blynk top-up of %s failed to start", mask_token(value))
            self.notifier.show_refused(
                texts.refused_text(TokenmeterError(), self._lang), texts.STATE_ERROR
            )
            return None
        self._value_of_topup[topup.id] = value
        self.notifier.show_topup(topup)
        shown = self.notifier.shown_status(topup.id)
        if shown is not None and shown in FINAL_TOPUP_STATUSES:
            self._topup_finished(topup)  # it ended before start() returned
        return topup

    def _topup_finished(self, topup: TopUp) -> None:
        value = self._value_of_topup.pop(topup.id, None)
        if value is not None and value in self._recent:
            self._recent[value] = self._clock() + self._repeat_window_s

    def _forget_expired(self, now: float) -> None:
        for value in [v for v, until in self._recent.items() if until <= now]:
            del self._recent[value]
