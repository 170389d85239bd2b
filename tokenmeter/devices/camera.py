"""The camera link: one JPEG snapshot from an ESP32-CAM (or the simulated meter).

``GET camera_url`` with ``flash=1`` added, or ``flash=0`` for a meter whose profile
photographs without the flash (this project's firmware lights the LED for the shot
or leaves it dark; the stock CameraWebServer ``/capture`` ignores the parameter),
with retries, and the answer checked to be a JPEG that decodes. ``timeout_s`` is one
deadline for the whole snapshot (connect, headers and every byte of the photo), not
for each read, so a camera that drips its answer is cut off like a silent one. The
body is streamed and reading stops once it passes ``MAX_SNAPSHOT_BYTES``. Every
failure becomes ``CameraUnavailable`` with its reason (``unreachable``,
``http_error``, ``not_photo``, ``too_large``) and a detail for the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import cv2
import httpx
import numpy as np

from ocr.reading import Image
from tokenmeter.domain import Meter
from tokenmeter.errors import CameraUnavailable

log = logging.getLogger(__name__)

SIM_SCHEME = "sim:"
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024
"""Largest answer taken as a photo; an ESP32-CAM JPEG, even UXGA, is under 1 MiB."""


class PhotoSource(Protocol):
    """An in-process camera (the simulated meter)."""

    def photo_jpeg(self) -> bytes: ...


@dataclass(frozen=True)
class Snapshot:
    """A validated photo: the JPEG as received and its decoded image (BGR)."""

    jpeg: bytes
    image: Image


def with_flash(url: str, on: bool = True) -> str:
    """The URL with ``flash=1`` (``flash=0`` when not ``on``) in its query; a flash
    parameter the URL already has is kept: the owner wrote it on purpose."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == "flash" for key, _ in query):
        query.append(("flash", "1" if on else "0"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def decode_jpeg(data: bytes) -> Image:
    """Check the JPEG markers and decode; raise CameraUnavailable when it is not one."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        raise CameraUnavailable(
            "the camera answer is not a JPEG (no start marker)", reason="not_photo"
        )
    if b"\xff\xd9" not in data[-32:]:
        raise CameraUnavailable("the JPEG is cut short (no end marker)", reason="not_photo")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise CameraUnavailable("the JPEG does not decode", reason="not_photo")
    return image.astype(np.uint8, copy=False)


class CameraClient:
    """Snapshots over HTTP; ``sim:`` / ``sim:<meter>`` URLs use in-process simulated meters."""

    def __init__(
        self,
        *,
        timeout_s: float = 8.0,
        retries: int = 1,
        sim_meters: Mapping[str, PhotoSource] | None = None,
        retry_pause_s: float = 0.3,
    ) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.retry_pause_s = retry_pause_s
        self.sim_meters = dict(sim_meters or {})
        # identity: a compressed answer could inflate far past the cap in one chunk
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            headers={"Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def snapshot(self, meter: Meter, *, flash: bool = True) -> Snapshot:
        """One validated photo of the meter's display (with the flash LED on unless
        ``flash`` is false: the meter's profile), or CameraUnavailable."""
        attempts = 1 + self.retries
        last: CameraUnavailable | None = None
        for attempt in range(attempts):
            try:
                data = await self._fetch(meter, flash)
                image = await asyncio.to_thread(decode_jpeg, data)
                return Snapshot(data, image)
            except CameraUnavailable as err:
                last = err
                log.warning(
                    "snapshot of %s failed (attempt %d/%d): %s",
                    meter.id,
                    attempt + 1,
                    attempts,
                    err.detail,
                )
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.retry_pause_s)
        assert last is not None
        raise last

    async def _fetch(self, meter: Meter, flash: bool) -> bytes:
        url = meter.camera_url.strip()
        if url.startswith(SIM_SCHEME):
            return await self._fetch_sim(url[len(SIM_SCHEME) :] or meter.id)
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._get(with_flash(url, flash))
        except TimeoutError as err:
            raise CameraUnavailable(f"no answer within {self.timeout_s:g} s") from err

    async def _get(self, url: str) -> bytes:
        """The body of a 200 answer, read until its end or past the cap."""
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise CameraUnavailable(
                        f"the camera answered HTTP {response.status_code}",
                        reason="http_error",
                        status=response.status_code,
                    )
                declared = response.headers.get("content-length", "")
                if len(declared) > 12 or (
                    declared.isdigit() and int(declared) > MAX_SNAPSHOT_BYTES
                ):
                    raise _too_large("by its Content-Length")
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > MAX_SNAPSHOT_BYTES:
                        # freed now: the exception's traceback keeps this frame, and a
                        # body in it, alive until the cyclic GC runs (4 MB per refusal)
                        body.clear()
                        raise _too_large("while reading it")
                return bytes(body)
        except httpx.TimeoutException as err:
            raise CameraUnavailable(f"no answer within {self.timeout_s:g} s") from err
        except httpx.HTTPError as err:
            raise CameraUnavailable(f"cannot reach the camera ({type(err).__name__})") from err

    async def _fetch_sim(self, sim_id: str) -> bytes:
        meter = self.sim_meters.get(sim_id)
        if meter is None:
            raise CameraUnavailable(f"no simulated meter {sim_id!r} is running")
        try:
            return await asyncio.wait_for(asyncio.to_thread(meter.photo_jpeg), self.timeout_s)
        except TimeoutError as err:
            raise CameraUnavailable(f"no answer within {self.timeout_s:g} s") from err


def _too_large(when: str) -> CameraUnavailable:
    return CameraUnavailable(
        f"the camera answer is larger than {MAX_SNAPSHOT_BYTES} bytes (seen {when})",
        reason="too_large",
    )
