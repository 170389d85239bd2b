"""FirebaseStore: the store contract against a local Realtime Database server,
plus listener shutdown and the Firebase-specific layout."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tests.tokenmeter.store.contract import StoreContract, make_reading, make_topup
from tokenmeter.domain import Meter, Schedule
from tokenmeter.store.firebase import FirebaseStore


@pytest.fixture
def store(rtdb: FirebaseRtdbServer, ns: str, tmp_path: Path) -> Iterator[FirebaseStore]:
    opened = FirebaseStore(rtdb.url(ns), outbox_path=tmp_path / "a" / "outbox.db")
    yield opened
    opened.close()


@pytest.fixture
def second_store(rtdb: FirebaseRtdbServer, ns: str, tmp_path: Path) -> Iterator[FirebaseStore]:
    opened = FirebaseStore(rtdb.url(ns), outbox_path=tmp_path / "b" / "outbox.db")
    yield opened
    opened.close()


@pytest.fixture
def config_file(rtdb: FirebaseRtdbServer, ns: str, tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\nbackend = "firebase"\nfirebase_url = "{rtdb.url(ns)}"\n'
        f'sqlite_path = "{tmp_path / "c" / "outbox.db"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def write_raw_schedule(rtdb: FirebaseRtdbServer, ns: str) -> Callable[[str, Any], None]:
    def write(meter_id: str, raw: Any) -> None:
        rtdb.write(ns, f"meters/{meter_id}/schedule", raw)

    return write


class TestFirebaseContract(StoreContract):
    """The shared contract against the Firebase adapter."""


def test_layout_follows_the_design(store: FirebaseStore, rtdb: FirebaseRtdbServer, ns: str) -> None:
    """Entities sit at the DESIGN.md paths, with sortable ISO times."""
    store.put_meter(Meter("rumah", "Rumah"))
    store.set_schedule("rumah", Schedule(("06:00", "18:00")))
    store.add_reading(make_reading("rumah", 5, kwh=42.5))
    topup = make_topup("rumah", "t1")
    store.create_topup(topup)
    meter = rtdb.read(ns, ["meters", "rumah"])
    assert meter["config"]["name"] == "Rumah"
    assert meter["schedule"] == {"times": ["06:00", "18:00"], "enabled": True}
    assert meter["readings"]["r00005"]["ts"] == "2026-11-20T06:05:00.000000Z"
    assert meter["latest"]["kwh"] == 42.5
    assert meter["topups"]["t1"]["masked"].endswith("7890")
    assert "12345678901234567890" not in str(meter)
    assert meter["topup_hashes"][topup.hash] == "t1"


def test_several_stores_in_one_process(rtdb: FirebaseRtdbServer, tmp_path: Path) -> None:
    """Each store has its own named Firebase app; closing one leaves the other working."""
    first = FirebaseStore(rtdb.url("multi"), outbox_path=tmp_path / "1.db")
    second = FirebaseStore(rtdb.url("multi"), outbox_path=tmp_path / "2.db")
    try:
        first.put_meter(Meter("rumah", "Rumah"))
        first.close()
        assert second.get_meter("rumah") == Meter("rumah", "Rumah")
    finally:
        first.close()
        second.close()


EXIT_AFTER_WATCH = """
import sys, time
from pathlib import Path
from tokenmeter.domain import Schedule
from tokenmeter.store.firebase import FirebaseStore

store = FirebaseStore(sys.argv[1], outbox_path=Path(sys.argv[2]))
store.set_schedule("rumah", Schedule(("06:00",)))
seen = []
subscription = store.watch_schedules(lambda m, s: seen.append((m, s)))
deadline = time.monotonic() + 10
while not seen and time.monotonic() < deadline:
    time.sleep(0.05)
subscription.close()
store.close()
print("closed", len(seen), flush=True)
"""


def test_process_exits_after_closing_listeners(
    rtdb: FirebaseRtdbServer, ns: str, tmp_path: Path
) -> None:
    """A process that watched schedules exits promptly after close (no stuck listener)."""
    result = subprocess.run(
        [sys.executable, "-c", EXIT_AFTER_WATCH, rtdb.url(ns), str(tmp_path / "o.db")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "closed 1"


def test_emulator_host_variable(
    rtdb: FirebaseRtdbServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FIREBASE_DATABASE_EMULATOR_HOST sends an https URL to the emulator, ns from its host."""
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", f"127.0.0.1:{rtdb.port}")
    store = FirebaseStore("https://envdemo.firebaseio.com", outbox_path=tmp_path / "o.db")
    try:
        store.put_meter(Meter("rumah", "Rumah"))
    finally:
        store.close()
    assert rtdb.read("envdemo", ["meters", "rumah", "config", "name"]) == "Rumah"
