# The meter's low-credit beep, heard by a sound sensor on a digital input
# (KY-038 DO or a piezo pickup + comparator). A sensor may hold its output while
# the sound lasts or chatter at the tone's frequency: edges are caught by an IRQ
# and the level is sampled on every poll; gaps shorter than ``hold_ms`` join one burst.
import time


class BeepDetector:
    """``poll()`` returns True once per beep: a burst of activity that lasts at
    least ``debounce_ms``, and no more often than once per ``cooldown_ms``."""

    def __init__(self, pin, *, active_high=True, debounce_ms=40, hold_ms=30, cooldown_ms=60000):
        self._pin = pin
        self._active = 1 if active_high else 0
        self.debounce_ms = debounce_ms
        self.hold_ms = hold_ms
        self.cooldown_ms = cooldown_ms
        self._burst_start = None
        self._last_activity = 0
        self._reported = False
        self._last_beep = None
        self.beeps = 0
        if hasattr(pin, "irq"):
            trigger = pin.IRQ_RISING if active_high else pin.IRQ_FALLING
            pin.irq(trigger=trigger, handler=self._on_edge)

    def _on_edge(self, _pin):
        self._mark(time.ticks_ms())

    def _mark(self, now):
        if self._burst_start is None or time.ticks_diff(now, self._last_activity) > self.hold_ms:
            self._burst_start = now
            self._reported = False
        self._last_activity = now

    def poll(self):
        now = time.ticks_ms()
        if self._pin.value() == self._active:
            self._mark(now)
        start = self._burst_start
        if start is None or self._reported:
            return False
        if time.ticks_diff(self._last_activity, start) < self.debounce_ms:
            if time.ticks_diff(now, self._last_activity) > self.hold_ms:
                self._burst_start = None  # a click or a glitch: forget it
            return False
        self._reported = True
        if self._last_beep is not None and (
            time.ticks_diff(now, self._last_beep) < self.cooldown_ms
        ):
            return False
        self._last_beep = now
        self.beeps += 1
        return True
