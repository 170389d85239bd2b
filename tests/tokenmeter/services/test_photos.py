"""Tests for tokenmeter.services.photos."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tokenmeter.services.photos import PhotoKeeper


def test_keeps_the_last_n_per_meter(tmp_path: Path) -> None:
    """Only the newest ``keep`` photos of a meter stay; other meters are untouched."""
    keeper = PhotoKeeper(tmp_path, keep=2)
    paths = [keeper.save("a", f"r{i:03d}", b"\xff\xd8x\xff\xd9") for i in range(4)]
    keeper.save("b", "r000", b"jpeg")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["r002.jpg", "r003.jpg"]
    assert Path(paths[-1]).read_bytes() == b"\xff\xd8x\xff\xd9"
    assert (tmp_path / "b" / "r000.jpg").exists()


def test_photos_older_than_max_days_are_deleted(tmp_path: Path) -> None:
    """With max_days, a photo older than that goes at the next save, within the count."""
    keeper = PhotoKeeper(tmp_path, keep=10, max_days=30)
    old = Path(keeper.save("a", "r000", b"jpeg"))
    recent = Path(keeper.save("a", "r001", b"jpeg"))
    long_ago = time.time() - 31 * 86400
    os.utime(old, (long_ago, long_ago))
    os.utime(recent, (time.time() - 29 * 86400,) * 2)
    keeper.save("a", "r002", b"jpeg")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["r001.jpg", "r002.jpg"]


def test_no_age_limit_by_default(tmp_path: Path) -> None:
    """max_days 0 keeps old photos (only the count limits them)."""
    keeper = PhotoKeeper(tmp_path, keep=10)
    old = Path(keeper.save("a", "r000", b"jpeg"))
    os.utime(old, (0, 0))
    keeper.save("a", "r001", b"jpeg")
    assert old.exists()
