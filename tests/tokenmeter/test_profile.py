"""The meter profile: bounded references, quads, values, the dict and folder forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tokenmeter.profile import (
    MAX_REFERENCES,
    MeterProfile,
    ProfileError,
    Reference,
    load_profile_dir,
    parse_quad,
    parse_value,
    profile_from_dict,
    profile_to_dict,
    quad_fits,
    save_profile_dir,
)

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
QUAD = ((10.0, 20.0), (300.0, 22.0), (301.0, 80.0), (11.0, 79.0))


def _ref(n: int, source: str = "enrol") -> Reference:
    return Reference(f"ref-{n:03d}", f"{100 + n}.00", b"png%d" % n, source, T0 + timedelta(n))  # type: ignore[arg-type]


def test_references_are_bounded_learned_first() -> None:
    """When full, the oldest learned reference makes room, then the oldest of all."""
    profile = MeterProfile()
    profile = profile.with_reference(_ref(0, "learned"))
    for n in range(1, MAX_REFERENCES):
        profile = profile.with_reference(_ref(n))
    profile = profile.with_reference(_ref(50))
    ids = [r.id for r in profile.references]
    assert len(ids) == MAX_REFERENCES and "ref-000" not in ids and ids[-1] == "ref-050"
    profile = profile.with_reference(_ref(51, "learned"))
    assert "ref-001" not in [r.id for r in profile.references]
    assert len(profile.references) == MAX_REFERENCES


def test_same_reference_id_replaces() -> None:
    """A reference added again under its id is kept once."""
    profile = MeterProfile().with_reference(_ref(1)).with_reference(_ref(1))
    assert len(profile.references) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,2,3", "8 numbers"),
        ("a,b,c,d,e,f,g,h", "8 numbers"),
        ("10,20,300,22,301,80,11,nan", "8 numbers"),
        ("-1,20,300,22,301,80,11,79", "outside"),
        ("300,22,10,20,11,79,301,80", "top-left"),  # corners crossed
        ("10,20,11,79,301,80,300,22", "top-left"),  # anticlockwise
        ("10,10,12,10,12,12,10,12", "no area"),
    ],
)
def test_bad_quads_are_refused(text: str, problem: str) -> None:
    """Each way a box can be wrong is refused with its own reason."""
    with pytest.raises(ProfileError, match=problem):
        parse_quad(text)


def test_quad_parses_and_fits() -> None:
    """A clockwise convex box parses from text or numbers and fits its photo."""
    assert parse_quad("10,20,300,22,301,80,11,79") == QUAD
    assert parse_quad([10, 20, 300, 22, 301, 80, 11, 79]) == QUAD
    assert quad_fits(QUAD, 640, 480) and not quad_fits(QUAD, 300, 480)


def test_values_normalise() -> None:
    """The owner's value may use a comma and leading zeros; anything else is refused."""
    assert parse_value(" 0123,45 ") == "123.45"
    assert parse_value("0000.5") == "0.5"
    for bad in ("", "12a", "1.2.3", "-5", "1.2345"):
        with pytest.raises(ProfileError):
            parse_value(bad)


def test_dict_round_trip_and_malformed() -> None:
    """The store's dict form gives the profile back; a bad field is a ProfileError."""
    profile = MeterProfile(QUAD, 6, 2, False, (_ref(1), _ref(2, "learned")), T0)
    assert profile_from_dict(profile_to_dict(profile)) == profile
    with pytest.raises(ProfileError):
        profile_from_dict({**profile_to_dict(profile), "decimals": 7})
    with pytest.raises(ProfileError):
        profile_from_dict({**profile_to_dict(profile), "flash": "yes"})


def test_folder_round_trip(tmp_path: Path) -> None:
    """The folder form keeps the profile, one PNG per reference, none stale."""
    folder = tmp_path / "profile"
    assert load_profile_dir(folder) == MeterProfile()
    profile = MeterProfile(QUAD, 6, 2, True, (_ref(1), _ref(2)), T0)
    save_profile_dir(folder, profile)
    assert load_profile_dir(folder) == profile
    smaller = MeterProfile(QUAD, 6, 2, True, (_ref(2),), T0)
    save_profile_dir(folder, smaller)
    assert load_profile_dir(folder) == smaller
    assert sorted(p.name for p in folder.iterdir()) == ["profile.json", "ref-002.png"]


def test_folder_with_missing_png_is_refused(tmp_path: Path) -> None:
    """A profile.json naming a crop that is gone is refused, not half loaded."""
    save_profile_dir(tmp_path, MeterProfile(QUAD, 6, 2, True, (_ref(1),), T0))
    (tmp_path / "ref-001.png").unlink()
    with pytest.raises(ProfileError, match="missing"):
        load_profile_dir(tmp_path)
