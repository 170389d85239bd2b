"""Run the firmware's real modules under CPython: fake MicroPython modules go into
``sys.modules``; firmware files are imported by path through a finder that only
knows the firmware directories, with ``time`` and ``gc`` swapped for fakes while
each firmware module executes (CPython's own users of ``time`` are untouched)."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import pytest

from tests.firmware.fakes import board as board_fakes
from tests.firmware.fakes import micropython as micropython_fake
from tests.firmware.fakes import umqtt as umqtt_fakes
from tests.firmware.fakes.clock import FakeGc, FakeTime

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
DEVICE_DIRS = {
    "esp32": (FIRMWARE / "esp32", FIRMWARE / "common"),
    "esp32cam": (FIRMWARE / "esp32cam", FIRMWARE / "common"),
}


class _FirmwareLoader(importlib.abc.Loader):
    def __init__(self, path: Path, swaps: dict[str, Any]) -> None:
        self.path = path
        self.swaps = swaps

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        saved = {name: sys.modules.get(name) for name in self.swaps}
        sys.modules.update(self.swaps)
        try:
            code = compile(self.path.read_text(encoding="utf-8"), str(self.path), "exec")
            exec(code, module.__dict__)
        finally:
            for name, original in saved.items():
                if original is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = original


class _FirmwareFinder(importlib.abc.MetaPathFinder):
    def __init__(self, dirs: Sequence[Path], swaps: dict[str, Any]) -> None:
        self.dirs = dirs
        self.swaps = swaps
        self.loaded: set[str] = set()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is not None or "." in fullname:
            return None
        for directory in self.dirs:
            candidate = directory / f"{fullname}.py"
            if candidate.is_file():
                self.loaded.add(fullname)
                loader = _FirmwareLoader(candidate, self.swaps)
                return importlib.util.spec_from_loader(fullname, loader, origin=str(candidate))
        return None


@dataclass
class Firmware:
    """One device's firmware with its fake board, clock and in-memory broker."""

    device: str
    clock: FakeTime
    gc: FakeGc
    board: board_fakes.Board
    broker: umqtt_fakes.FakeBroker
    finder: _FirmwareFinder

    def load(self, name: str) -> Any:
        """Import a firmware module by its on-device name (``keypad``, ``app``...)."""
        return importlib.import_module(name)

    def load_file(self, path: Path, name: str) -> Any:
        """Import a file whose name is not a module name (``config_local.example.py``)."""
        spec = importlib.util.spec_from_loader(name, _FirmwareLoader(path, self.finder.swaps))
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        return module

    def example_config(self, **overrides: Any) -> Any:
        config = self.load_file(
            DEVICE_DIRS[self.device][0] / "config_local.example.py", "config_local"
        )
        for key, value in overrides.items():
            setattr(config, key, value)
        return config


def _install(
    monkeypatch: pytest.MonkeyPatch, device: str, clock: FakeTime, client_class: type | None
) -> Firmware:
    gc = FakeGc()
    board = board_fakes.Board(clock)
    broker = umqtt_fakes.FakeBroker()
    fakes: dict[str, types.ModuleType] = {"micropython": micropython_fake}
    fakes.update(board_fakes.make_modules(board))
    fakes.update(umqtt_fakes.make_modules(broker, client_class))
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    finder = _FirmwareFinder(DEVICE_DIRS[device], {"time": clock, "gc": gc})
    for directory in DEVICE_DIRS[device]:
        for source in directory.glob("*.py"):
            if source.stem in sys.modules:
                monkeypatch.delitem(sys.modules, source.stem)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    return Firmware(device, clock, gc, board, broker, finder)


def _uninstall(firmware: Firmware) -> None:
    for name in firmware.finder.loaded:
        sys.modules.pop(name, None)


@pytest.fixture
def esp32(monkeypatch: pytest.MonkeyPatch) -> Iterator[Firmware]:
    """The keypad board's firmware on fakes, virtual time (sleeps cost nothing)."""
    firmware = _install(monkeypatch, "esp32", FakeTime(), None)
    yield firmware
    _uninstall(firmware)


@pytest.fixture
def esp32cam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Firmware]:
    """The camera board's firmware on fakes, virtual time."""
    firmware = _install(monkeypatch, "esp32cam", FakeTime(), None)
    yield firmware
    _uninstall(firmware)


@pytest.fixture
def esp32_on_paho(monkeypatch: pytest.MonkeyPatch) -> Iterator[Firmware]:
    """The keypad firmware whose umqtt.simple is the paho adapter (real broker);
    virtual time runs at 1/20 of real time so the PC side sees real delays."""
    from tests.firmware.fakes.umqtt_paho import PahoMQTTClient

    firmware = _install(monkeypatch, "esp32", FakeTime(scale=0.05), PahoMQTTClient)
    yield firmware
    _uninstall(firmware)
