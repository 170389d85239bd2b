"""Tests for tokenmeter.overview: every meter's figures from the store, action first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.tokenmeter.store.contract import T0, make_reading, make_topup
from tokenmeter.domain import DeviceStatus, Meter, ReadingStatus
from tokenmeter.overview import age_text, overview, overview_text
from tokenmeter.store.sqlite import SqliteStore

METERS = [Meter("k1", "Kamar 1"), Meter("k2", "Kamar 2"), Meter("k3", "Kamar 3"), Meter("k4", "K4")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "tm.db")
    for meter in METERS:
        store.put_meter(meter)
    # k1: fine, 50 -> 48 kWh in a day (2 kWh/day, 24 days left)
    store.add_reading(make_reading("k1", 0, 50.0))
    store.add_reading(make_reading("k1", 24 * 60, 48.0))
    # k2: under its 10 kWh threshold, 4 kWh/day, a keypad offline, a queued top-up
    store.add_reading(make_reading("k2", 0, 12.0))
    store.add_reading(make_reading("k2", 12 * 60, 10.0))
    store.add_reading(make_reading("k2", 24 * 60, 8.0))
    store.set_device_status("k2", DeviceStatus("keypad", False, T0))
    store.create_topup(make_topup("k2", "t1"))
    # k3: last check unreadable, balance from before
    store.add_reading(make_reading("k3", 0, 30.0))
    store.add_reading(make_reading("k3", 24 * 60, None, status=ReadingStatus.UNREADABLE))
    yield store
    store.close()


def test_sorted_by_what_needs_action(store: SqliteStore) -> None:
    """Most problems first, never-checked and failed before the meter that is fine."""
    now = T0 + timedelta(days=1, minutes=30)
    items = overview(store, METERS, now)
    assert [i.meter.id for i in items] == ["k2", "k4", "k3", "k1"]  # one problem: by name
    k2, k4, k3, k1 = items
    assert k2.problems == ("low", "topup", "offline") and k2.days_left == 2.0
    assert k3.problems == ("failed",) and k3.balance is not None and k3.balance.kwh == 30.0
    assert k4.problems == ("never",) and k1.problems == () and k1.days_left == 24.0


def test_text_in_indonesian_and_english(store: SqliteStore) -> None:
    """One header and a line per meter, Indonesian numbers, the problems in words."""
    now = T0 + timedelta(days=1, minutes=30)
    text = overview_text(overview(store, METERS, now), now)
    assert text.splitlines() == [
        "4 meter, 3 perlu tindakan",
        "⚠️ Kamar 2: 8,0 kWh · ±2 hari · 30 menit lalu · di bawah batas, "
        "1 token belum selesai, keypad offline",
        "⚠️ K4: - kWh · belum pernah dicek",
        "⚠️ Kamar 3: 30,0 kWh · 30 menit lalu · cek terakhir gagal",
        "✅ Kamar 1: 48,0 kWh · ±24 hari · 30 menit lalu",
    ]
    later = now + timedelta(days=2)
    english = overview_text(overview(store, METERS[:1], later), later, "en")
    assert english.splitlines()[1] == (
        "⚠️ Kamar 1: 48.0 kWh · ±24 days · 2 days ago · not checked lately"
    )


def test_age_text() -> None:
    """Minutes, then hours up to two days, then days."""
    assert age_text(T0, T0 + timedelta(minutes=59), "id") == "59 menit lalu"
    assert age_text(T0, T0 + timedelta(hours=47), "en") == "47 h ago"
    assert age_text(T0, T0 + timedelta(days=3), "id") == "3 hari lalu"
