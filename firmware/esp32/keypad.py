# Keypad solenoids behind a relay board, and the journal of command ids that
# makes sure no token is typed twice (it survives reboots in a flash file).
import json
import os
import time

DIGITS = "0123456789"
ENTER = "enter"
BACKSPACE = "backspace"
KEY_NAMES = tuple(DIGITS) + (ENTER, BACKSPACE)  # no PEP 448 in MicroPython


class KeypadError(Exception):
    """A command refused before anything was pressed; ``args[0]`` is the code."""


def check_digits(digits, max_length=40):
    """Raise KeypadError unless ``digits`` is 1..max_length characters 0-9."""
    if not isinstance(digits, str) or not digits:
        raise KeypadError("empty")
    if len(digits) > max_length:
        raise KeypadError("length")
    for char in digits:
        if char not in DIGITS:
            raise KeypadError("not_digits")


class KeypadDriver:
    """Press keys one at a time: relay on for ``press_ms``, then off for ``gap_ms``.

    ``pins`` maps "0".."9", "enter", "backspace" to output ``Pin`` objects. Every
    relay is released when the driver is built and after every sequence, also
    when it fails half-way. Sequences never interleave.
    """

    def __init__(self, pins, *, active_low=True, press_ms=65, gap_ms=500, feed=None):
        missing = [name for name in KEY_NAMES if name not in pins]
        if missing:
            raise ValueError("no pin for keys: " + ",".join(missing))
        self._pins = pins
        self._on = 0 if active_low else 1
        self._off = 1 - self._on
        self.press_ms = press_ms
        self.gap_ms = gap_ms
        self._feed = feed or (lambda: None)
        self.busy = False
        self.release_all()

    def release_all(self):
        for pin in self._pins.values():
            pin.value(self._off)

    def type_digits(self, digits, enter=True, clear=0):
        """Press ``clear`` x Backspace, the digits, then Enter; return the count
        of presses. Raise KeypadError (nothing pressed) for anything but digits."""
        if self.busy:
            raise KeypadError("busy")
        check_digits(digits)
        keys = [BACKSPACE] * clear + list(digits)
        if enter:
            keys.append(ENTER)
        self.busy = True
        pressed = 0
        try:
            for key in keys:
                self._press(key)
                pressed += 1
        finally:
            self.release_all()
            self.busy = False
        return pressed

    def _press(self, key):
        pin = self._pins[key]
        self._feed()
        pin.value(self._on)
        try:
            time.sleep_ms(self.press_ms)
        finally:
            pin.value(self._off)
        time.sleep_ms(self.gap_ms)


class CommandJournal:
    """The results of the last ``size`` command ids, kept in a flash file.

    ``begin(id)`` is written BEFORE the first press, so a reset half-way leaves
    an "interrupted" answer behind: the id is never typed again.
    """

    def __init__(self, path, size=16):
        self._path = path
        self._size = size
        self._entries = self._load()

    def _load(self):
        data = None
        for path in (self._path, self._path + ".tmp"):  # .tmp: reset during _save
            try:
                with open(path) as handle:
                    data = json.load(handle)
                break
            except (OSError, ValueError):
                continue
        if not isinstance(data, list):
            return []
        return [entry for entry in data if isinstance(entry, list) and len(entry) == 2]

    def _save(self):
        tmp = self._path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self._entries, handle)
        try:
            os.remove(self._path)
        except OSError:
            pass
        os.rename(tmp, self._path)

    def ids(self):
        return [entry[0] for entry in self._entries]

    def get(self, command_id):
        for entry in self._entries:
            if entry[0] == command_id:
                return entry[1]
        return None

    def put(self, command_id, result):
        self._entries = [entry for entry in self._entries if entry[0] != command_id]
        self._entries.append([command_id, result])
        while len(self._entries) > self._size:
            self._entries.pop(0)
        self._save()

    def begin(self, command_id, rtc):
        self.put(
            command_id,
            {"id": command_id, "ok": False, "pressed": 0, "error": "interrupted", "rtc": rtc},
        )
