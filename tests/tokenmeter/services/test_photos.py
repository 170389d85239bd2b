"""Tests for tokenmeter.services.photos."""

from __future__ import annotations

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
