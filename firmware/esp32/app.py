# The keypad board's application: keypad commands, results, beep and
# rtc_check events, NTP -> DS3231, and the retained schedule as RTC fallback.
# Everything it touches is passed in, so it runs on a PC with fake pins.
import gc
import json
import time

from ds3231 import iso
from keypad import KeypadError, check_digits

_QUEUE_MAX = 8
_JUMP_MINUTES = 120  # a clock step larger than this (NTP fix) fires no slots


def parse_schedule(payload):
    """Minutes of the day (local time) from ``{"times": ["06:00"], "enabled": true}``."""
    if not payload.get("enabled", True):
        return []
    slots = []
    for text in payload.get("times") or []:
        try:
            hour, minute = str(text).split(":")
            hour, minute = int(hour), int(minute)
        except ValueError:
            continue
        if 0 <= hour < 24 and 0 <= minute < 60:
            slots.append(hour * 60 + minute)
    return sorted(set(slots))


class KeypadApp:
    """One loop: ``step()`` is called every ``loop_ms``; ``run()`` loops forever."""

    def __init__(
        self,
        *,
        link,
        keypad,
        journal,
        rtc=None,
        beeps=None,
        ntp=None,
        machine_rtc=None,
        wdt=None,
        version="0",
        tz_offset_min=420,
        clear_presses=0,
        rtc_check_always=False,
        ntp_interval_ms=6 * 3600 * 1000,
        ntp_retry_ms=60000,
        schedule_path="schedule.json",
        reset_cause="",
        loop_ms=20,
    ):
        self.link = link
        self.keypad = keypad
        self.journal = journal
        self.rtc = rtc
        self.beeps = beeps
        self._ntp = ntp
        self._machine_rtc = machine_rtc
        self._wdt = wdt
        self.version = version
        self.tz_offset_min = tz_offset_min
        self.clear_presses = clear_presses
        self.rtc_check_always = rtc_check_always
        self._ntp_interval_ms = ntp_interval_ms
        self._ntp_retry_ms = ntp_retry_ms
        self._schedule_path = schedule_path
        self.reset_cause = reset_cause
        self.loop_ms = loop_ms
        self.queue = []
        self.slots = []
        self._last_minute = None
        self._next_ntp = time.ticks_ms()
        self.ntp_synced = False
        self._steps = 0
        link.status_extra = self.status
        link.subscribe("keypad/cmd", self._on_command)
        link.subscribe("schedule", self._on_schedule)
        self._load_schedule()
        self._clock_from_rtc()

    # -- time ------------------------------------------------------------
    def now(self):
        """UTC ``(y, m, d, h, mi, s, wd)`` from the DS3231, else the ESP32 clock."""
        if self.rtc is not None:
            try:
                return self.rtc.datetime()
            except OSError as exc:
                print("app: DS3231 unreadable:", repr(exc))
        return tuple(time.gmtime()[:7])

    def rtc_iso(self):
        return iso(self.now())

    def _clock_from_rtc(self):
        """At boot, set the ESP32's own clock from the DS3231 (unless it lost power)."""
        if self.rtc is None or self._machine_rtc is None:
            return
        try:
            if self.rtc.lost_power():
                return
            y, mo, d, h, mi, s, wd = self.rtc.datetime()
            self._machine_rtc.datetime((y, mo, d, wd, h, mi, s, 0))
        except OSError as exc:
            print("app: DS3231 unreadable at boot:", repr(exc))

    def _sync_ntp(self):
        if self._ntp is None or not self.link.connected:
            return
        if time.ticks_diff(time.ticks_ms(), self._next_ntp) < 0:
            return
        try:
            self._ntp.settime()  # sets the ESP32 clock to UTC
            if self.rtc is not None:
                self.rtc.set_datetime(tuple(time.gmtime()[:7]))
        except Exception as exc:
            print("app: NTP sync failed:", repr(exc))
            self._next_ntp = time.ticks_add(time.ticks_ms(), self._ntp_retry_ms)
            return
        self.ntp_synced = True
        self._next_ntp = time.ticks_add(time.ticks_ms(), self._ntp_interval_ms)

    def status(self):
        info = {
            "device": "keypad",
            "version": self.version,
            "rtc": self.rtc_iso(),
            "reset": self.reset_cause,
        }
        if self.rtc is not None:
            try:
                info["temp"] = self.rtc.temperature()
            except OSError:
                pass
        return info

    # -- keypad commands -------------------------------------------------
    def _on_command(self, _leaf, payload):
        if len(self.queue) >= _QUEUE_MAX:
            print("app: command queue full, dropped", payload.get("id"))
            return
        self.queue.append(payload)

    def run_next_command(self):
        """Type the oldest queued command (one at a time) and publish its result."""
        if not self.queue:
            return None
        payload = self.queue.pop(0)
        command_id = payload.get("id")
        if not isinstance(command_id, str) or not command_id:
            print("app: ignored keypad command without id")
            return None
        result = self.journal.get(command_id)
        if result is None:
            result = self._execute(command_id, payload)
        self.link.publish("keypad/result", result, qos=1, keep=True)
        gc.collect()
        return result

    def _execute(self, command_id, payload):
        keys = payload.get("keys")
        enter = payload.get("enter", True) is not False
        if not keys and not enter:
            # A query about an id (the PC restarted): never seen, so never typed.
            return self._result(command_id, False, 0, "unknown_id")
        try:
            check_digits(keys)
        except KeypadError as exc:
            return self._finish(command_id, False, 0, exc.args[0])
        self.journal.begin(command_id, self.rtc_iso())
        try:
            pressed = self.keypad.type_digits(keys, enter=enter, clear=self.clear_presses)
        except KeypadError as exc:
            return self._finish(command_id, False, 0, exc.args[0])
        return self._finish(command_id, True, pressed, None)

    def _result(self, command_id, ok, pressed, error):
        return {
            "id": command_id,
            "ok": ok,
            "pressed": pressed,
            "error": error,
            "rtc": self.rtc_iso(),
        }

    def _finish(self, command_id, ok, pressed, error):
        result = self._result(command_id, ok, pressed, error)
        self.journal.put(command_id, result)
        return result

    # -- schedule --------------------------------------------------------
    def _on_schedule(self, _leaf, payload):
        slots = parse_schedule(payload)
        if slots != self.slots:
            self.slots = slots
            self._save_schedule(payload)

    def _load_schedule(self):
        try:
            with open(self._schedule_path) as handle:
                self.slots = parse_schedule(json.load(handle))
        except (OSError, ValueError, AttributeError):
            self.slots = []

    def _save_schedule(self, payload):
        try:
            with open(self._schedule_path, "w") as handle:
                json.dump(payload, handle)
        except OSError as exc:
            print("app: schedule not saved:", repr(exc))

    def check_schedule(self):
        """Publish ``rtc_check`` for every slot passed while the broker (the PC side)
        was unreachable; queued, it goes out as soon as the link is back."""
        now = self.now()
        minute = (now[3] * 60 + now[4] + self.tz_offset_min) % 1440
        last, self._last_minute = self._last_minute, minute
        if last is None or last == minute:
            return
        elapsed = (minute - last) % 1440
        if elapsed > _JUMP_MINUTES:
            return
        for slot in self.slots:
            if 0 < (slot - last) % 1440 <= elapsed and (
                self.rtc_check_always or not self.link.connected
            ):
                event = {
                    "type": "rtc_check",
                    "rtc": iso(now),
                    "slot": f"{slot // 60:02d}:{slot % 60:02d}",
                }
                self.link.publish("event", event, qos=1, keep=True)

    # -- loop ------------------------------------------------------------
    def check_beep(self):
        if self.beeps is not None and self.beeps.poll():
            self.link.publish("event", {"type": "beep", "rtc": self.rtc_iso()}, qos=1, keep=True)

    def step(self):
        if self._wdt is not None:
            self._wdt.feed()
        self.link.ensure()
        self.link.poll()
        self.run_next_command()
        self.check_beep()
        self.check_schedule()
        self._sync_ntp()
        self._steps += 1
        if self._steps % 50 == 0:
            gc.collect()

    def run(self, stop=None):
        """Loop until ``stop()`` is true (never, on the device)."""
        while stop is None or not stop():
            self.step()
            time.sleep_ms(self.loop_ms)
