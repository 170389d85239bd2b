"""Check photos on disk: the last N per meter, and none older than ``max_days``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


class PhotoKeeper:
    """``{directory}/{meter_id}/{reading_id}.jpg``; reading ids sort by time."""

    def __init__(self, directory: Path, keep: int, max_days: float = 0) -> None:
        self.directory = Path(directory)
        self.keep = keep
        self.max_days = max_days  # 0: no age limit

    def save(self, meter_id: str, reading_id: str, jpeg: bytes) -> str:
        """Write the photo, prune the oldest beyond ``keep``; return its path."""
        folder = self.directory / meter_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{reading_id}.jpg"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(jpeg)
        tmp.replace(path)
        self._prune(folder)
        return str(path)

    def _prune(self, folder: Path) -> None:
        photos = sorted(folder.glob("*.jpg"), key=lambda p: p.name)
        doomed = photos[: max(0, len(photos) - self.keep)]
        if self.max_days > 0:
            oldest = time.time() - self.max_days * 86400
            doomed += [p for p in photos[len(doomed) :] if _mtime(p) < oldest]
        for old in doomed:
            try:
                old.unlink()
            except OSError:
                log.warning("could not delete old photo %s", old)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile
        return float("inf")
