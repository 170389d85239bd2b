"""Tests for tokenmeter.services.profiles and the check service with a meter profile:
photos of one rendered fixed camera, the real reader in the guard, SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import cv2
import pytest

import ocr
from ocr.adapt import ENGINE
from ocr.reading import Image
from tests.ocr.fixed_camera import fixed_camera_photos
from tests.tokenmeter.services.simkit import eventually, sim_config
from tokenmeter.devices.camera import CameraClient
from tokenmeter.domain import (
    Meter,
    Reading,
    ReadingStatus,
    TopUp,
    TopUpStatus,
    new_id,
    utcnow,
)
from tokenmeter.events import EventBus, TopUpChanged
from tokenmeter.profile import MeterProfile, Reference
from tokenmeter.services.check import CheckService
from tokenmeter.services.profiles import (
    CORRECTION_SOURCE,
    CorrectionRefused,
    ProfileService,
)
from tokenmeter.sim import RenderedPhoto
from tokenmeter.store.sqlite import SqliteStore

STYLE = 18  # a rendered meter style the gate reads in its quad (two decimals)


class FixedCamera:
    """An in-process camera that returns the given photos in turn (the last repeats)."""

    def __init__(self, photos: list[RenderedPhoto]) -> None:
        self.photos = photos
        self.taken = 0

    def photo_jpeg(self) -> bytes:
        photo = self.photos[min(self.taken, len(self.photos) - 1)]
        self.taken += 1
        ok, data = cv2.imencode(".jpg", photo.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        assert ok
        return bytes(data.tobytes())


class ProfileSpy:
    """A profile reader that answers ``text`` as the gate would, and keeps its profiles."""

    def __init__(self, texts: list[str], engine: str = "line-model") -> None:
        self.texts = list(texts)
        self.engine = engine
        self.profiles: list[MeterProfile] = []

    def __call__(self, image: Image, profile: MeterProfile) -> ocr.Reading:
        self.profiles.append(profile)
        text = self.texts.pop(0) if self.texts else ""
        if not text:
            return ocr.Reading(status="unreadable", value=None, text="", confidence=0.0)
        return ocr.Reading("ok", float(text), text, 0.99, engine=self.engine)


@dataclass
class Rig:
    service: CheckService
    profiles: ProfileService
    store: SqliteStore
    camera: FixedCamera
    photos: list[RenderedPhoto]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    config = sim_config(tmp_path, "mqtt://127.0.0.1:1", max_kwh_per_hour=5.0)
    photos = fixed_camera_photos(STYLE, 6)
    source = FixedCamera(photos[1:])
    store = SqliteStore(config.store.sqlite_path)
    client = CameraClient(timeout_s=2, retries=0, sim_meters={"rumah": source})
    profiles = ProfileService(config, store)
    profiles.enrol("rumah", photos[0].image, photos[0].text)
    service = CheckService(config, store, client, EventBus(), profiles=profiles)
    yield Rig(service, profiles, store, source, photos)
    await client.aclose()
    store.close()


def _trusted(rig: Rig, kwh: float, hours_ago: float) -> Reading:
    reading = Reading(
        new_id("r"),
        "rumah",
        utcnow() - timedelta(hours=hours_ago),
        kwh,
        f"{kwh:.2f}",
        0.99,
        "cli",
        ReadingStatus.OK,
    )
    rig.store.add_reading(reading)
    return reading


async def test_enrolled_meter_is_read_with_its_stored_profile(rig: Rig) -> None:
    """A check of an enrolled meter reads through the profile reader with the stored
    quad and reference, and finds the photo's value."""
    spy = ProfileSpy([rig.photos[1].text])
    rig.service.profile_reader = spy
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.reading.status is ReadingStatus.OK
    assert outcome.reading.text == rig.photos[1].text
    stored = rig.store.get_profile("rumah")
    assert stored is not None and spy.profiles == [stored]
    assert stored.quad is not None and len(stored.references) == 1


async def test_real_profile_reader_reads_the_next_photo(rig: Rig) -> None:
    """Without a stand-in, the check reads the next photo with the real profile reader."""
    outcome = await rig.service.check("rumah", "cli")
    assert (outcome.reading.status, outcome.reading.text) == (ReadingStatus.OK, "147.17")


async def test_profile_does_not_save_an_implausible_value(rig: Rig) -> None:
    """A value that rose without a top-up is still stored unverified (after a retake)."""
    _trusted(rig, 100.0, 1)
    rig.service.profile_reader = ProfileSpy(["147.17", "147.17"])
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.reading.status is ReadingStatus.UNVERIFIED
    assert outcome.reading.error == "implausible_rose"
    stored = rig.store.get_profile("rumah")
    assert stored is not None and [r.source for r in stored.references] == ["enrol"]


async def test_consistent_reading_is_learned(rig: Rig) -> None:
    """A gate-read value falling plausibly since the last trusted reading joins the
    references as learned; the next check within LEARN_EVERY adds nothing."""
    _trusted(rig, 148.0, 1)
    rig.service.profile_reader = ProfileSpy([rig.photos[1].text, rig.photos[2].text])
    await rig.service.check("rumah", "cli")
    stored = rig.store.get_profile("rumah")
    assert stored is not None
    assert [(r.source, r.text) for r in stored.references] == [
        ("enrol", "150.00"),
        ("learned", "147.17"),
    ]
    await rig.service.check("rumah", "cli")
    again = rig.store.get_profile("rumah")
    assert again is not None and len(again.references) == 2


@pytest.mark.parametrize(
    ("history", "allow_rise", "engine"),
    [(None, False, "line-model"), (140.0, True, "line-model"), (148.0, False, ENGINE)],
    ids=["no-history", "rise", "adapted"],
)
async def test_reading_against_history_is_not_learned(
    rig: Rig, history: float | None, allow_rise: bool, engine: str
) -> None:
    """No history, a rise (allowed after a top-up) and a reading the references helped
    are stored ok but never learned."""
    if history is not None:
        _trusted(rig, history, 1)
    rig.service.profile_reader = ProfileSpy([rig.photos[1].text], engine=engine)
    outcome = await rig.service.check("rumah", "cli", allow_rise=allow_rise)
    assert outcome.reading.status is ReadingStatus.OK
    stored = rig.store.get_profile("rumah")
    assert stored is not None and [r.source for r in stored.references] == ["enrol"]


async def test_wrong_value_the_photo_does_not_show_is_not_learned(rig: Rig) -> None:
    """A plausible value the photo does not show is refused by the guard (the crop must
    read as its value): the references stay as they were."""
    _trusted(rig, 148.0, 1)
    rig.service.profile_reader = ProfileSpy(["147.11"])
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.reading.text == "147.11"
    stored = rig.store.get_profile("rumah")
    assert stored is not None and [r.source for r in stored.references] == ["enrol"]


def test_may_learn_keeps_hours_between_learned_references(rig: Rig) -> None:
    """A learned reference younger than LEARN_EVERY blocks another; an older one not."""
    previous = _trusted(rig, 148.0, 2)
    base = rig.store.get_profile("rumah")
    assert base is not None
    read = ocr.Reading("ok", 147.17, "147.17", 0.99)
    reading = replace(previous, id=new_id("r"), ts=utcnow(), kwh=147.17, text="147.17")
    assert rig.profiles.may_learn(base, read, reading, previous)
    for age, allowed in ((timedelta(hours=1), False), (timedelta(hours=7), True)):
        learned = Reference("ref-l", "148.00", b"", "learned", utcnow() - age)
        profile = base.with_reference(learned)
        assert rig.profiles.may_learn(profile, read, reading, previous) is allowed


async def test_correction_fixes_history_and_joins_references(rig: Rig) -> None:
    """An unreadable check corrected with the Indonesian decimal comma: the last
    reading takes the value (source correction) and its photo becomes a reference."""
    rig.service.profile_reader = ProfileSpy([""])
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.reading.status is ReadingStatus.UNREADABLE
    correction = rig.profiles.correct("rumah", "147,17")
    latest = rig.store.latest_reading("rumah")
    assert latest is not None and latest.id == outcome.reading.id
    assert (latest.kwh, latest.text, latest.source) == (147.17, "147.17", CORRECTION_SOURCE)
    assert latest.status is ReadingStatus.OK and correction.was == ""
    assert correction.added and correction.references == 2
    stored = rig.store.get_profile("rumah")
    assert stored is not None and stored.references[-1].source == "correction"


async def test_correction_not_shown_in_photo_fixes_history_only(rig: Rig) -> None:
    """A value the photo does not show corrects the history, and the photo is refused
    as a reference with what the reader sees."""
    rig.service.profile_reader = ProfileSpy([rig.photos[1].text])
    await rig.service.check("rumah", "cli")
    correction = rig.profiles.correct("rumah", "140,00")
    assert not correction.added and correction.refused is not None
    assert (correction.refused.code, correction.refused.detail) == ("value_mismatch", "147.17")
    latest = rig.store.latest_reading("rumah")
    assert latest is not None and latest.text == "140.00" and correction.was == "147.17"
    stored = rig.store.get_profile("rumah")
    assert stored is not None and len(stored.references) == 1


def test_correction_refusals(rig: Rig) -> None:
    """No reading yet, or a value that is no meter value: refused, nothing changed."""
    with pytest.raises(CorrectionRefused) as caught:
        rig.profiles.correct("rumah", "147,17")
    assert caught.value.reason == "no_reading"
    _trusted(rig, 148.0, 1)
    with pytest.raises(CorrectionRefused) as caught:
        rig.profiles.correct("rumah", "banyak")
    assert caught.value.reason == "bad_value"


def _topup(status: TopUpStatus, before: float, after: float) -> TopUpChanged:
    """A top-up of the rig's meter started a minute ago, in ``status``."""
    topup = TopUp(
        new_id("t"),
        "rumah",
        utcnow() - timedelta(minutes=1),
        "1234-****-****-****-7890",
        "hash",
        status,
        "telegram",
        before=before,
        after=after,
    )
    return TopUpChanged(Meter(id="rumah", name="Rumah"), topup)


async def _top_up_checks(rig: Rig, shown_after: str | None = None) -> tuple[float, float]:
    """The balance check before a top-up and the one after it (the display risen to
    180.00); ``shown_after`` is what the reader says of the second photo."""
    risen = fixed_camera_photos(STYLE, 1, start=180.0)[0]
    if shown_after is not None:
        rig.service.profile_reader = ProfileSpy([rig.photos[1].text, shown_after])
    before = await rig.service.check("rumah", "topup", fresh=True)
    rig.camera.photos, rig.camera.taken = [risen], 0
    after = await rig.service.check("rumah", "topup", fresh=True, allow_rise=True)
    assert before.reading.kwh is not None and after.reading.kwh is not None
    return before.reading.kwh, after.reading.kwh


async def test_a_confirmed_top_up_teaches_its_before_and_after(rig: Rig) -> None:
    """The photos of a top-up's balance before and after join the references as learned
    once the top-up is confirmed (heard on the bus), once; not while it is unconfirmed."""
    before, after = await _top_up_checks(rig)
    assert (before, after) == (147.17, 180.0)
    await rig.service.bus.publish(_topup(TopUpStatus.UNCONFIRMED, before, after))
    assert [r.source for r in _references(rig)] == ["enrol"]
    await rig.service.bus.publish(_topup(TopUpStatus.CONFIRMED, before, after))
    learned = [("enrol", "150.00"), ("learned", "147.17"), ("learned", "180.00")]
    assert await eventually(lambda: [(r.source, r.text) for r in _references(rig)] == learned)
    assert rig.profiles.learn_topup(_topup(TopUpStatus.CONFIRMED, before, after).topup) == 0


async def test_finish_waits_for_learning_under_way_and_starts_no_more(rig: Rig) -> None:
    """A top-up confirmed just before a stop is learned before ``finish`` returns (the
    store closes after it); one confirmed after ``finish`` is not learned."""
    before, after = await _top_up_checks(rig)
    await rig.service.bus.publish(_topup(TopUpStatus.CONFIRMED, before, after))
    await rig.profiles.finish()
    assert [r.source for r in _references(rig)] == ["enrol", "learned", "learned"]
    stored = rig.store.get_profile("rumah")
    assert stored is not None
    rig.store.put_profile("rumah", replace(stored, references=()))  # all could be learned again
    await rig.service.bus.publish(_topup(TopUpStatus.CONFIRMED, before, after))
    await rig.profiles.finish()
    assert _references(rig) == []


async def test_a_misread_after_or_a_small_rise_is_not_learned(rig: Rig) -> None:
    """A balance after the top-up that the photo does not show (misread 181.00 for
    180.00) stays out, the right balance before goes in; a rise under MIN_CREDIT_KWH
    teaches nothing."""
    before, after = await _top_up_checks(rig, shown_after="181.00")
    assert rig.profiles.learn_topup(_topup(TopUpStatus.CONFIRMED, before, before + 0.5).topup) == 0
    assert rig.profiles.learn_topup(_topup(TopUpStatus.CONFIRMED, before, after).topup) == 1
    assert [(r.source, r.text) for r in _references(rig)] == [
        ("enrol", "150.00"),
        ("learned", "147.17"),
    ]


def _references(rig: Rig) -> list[Reference]:
    stored = rig.store.get_profile("rumah")
    assert stored is not None
    return list(stored.references)
