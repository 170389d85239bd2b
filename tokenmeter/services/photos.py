"""Check photos on disk: the last N per meter, older ones deleted."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


class PhotoKeeper:
    """``{directory}/{meter_id}/{reading_id}.jpg``; reading ids sort by time."""

    def __init__(self, directory: Path, keep: int) -> None:
        self.directory = Path(directory)
        self.keep = keep

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
        for old in photos[: max(0, len(photos) - self.keep)]:
            try:
                old.unlink()
            except OSError:
                log.warning("could not delete old photo %s", old)
