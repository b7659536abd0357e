"""A broken profile gives a ConfigError that names the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarhad.border import load_profile
from sarhad.core.errors import ConfigError


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def load_error(folder: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_profile(folder)
    return exc.value.message


def test_missing_folder(tmp_path: Path):
    assert "does not exist" in load_error(tmp_path / "nowhere")


def test_missing_profile_toml(mini_copy: Path):
    (mini_copy / "profile.toml").unlink()
    msg = load_error(mini_copy)
    assert "profile.toml" in msg and "missing" in msg


def test_bad_toml(mini_copy: Path):
    edit(mini_copy / "profile.toml", 'code = "MINI"', "code = MINI")
    msg = load_error(mini_copy)
    assert "profile.toml" in msg and "not valid TOML" in msg


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('code = "MINI"', 'code = "mini!"', "code"),
        ("sector_length_km = 5.0", "sector_length_km = 0", "sector_length_km"),
        ('lat = 44.875\nsource = "made up: midpoint of the fourth segment"', "lat = 95.0", "lat"),
        ('names = { en = "South Gate" }', 'names = { ur = "x" }', "English"),
        ('id = "mini"', 'id = "mini"\ncolour = "red"', "colour"),
        ('codes = ["AA", "BB"]', 'codes = ["AA"]', "codes"),
    ],
)
def test_invalid_values_are_named(mini_copy: Path, old: str, new: str, expected: str):
    edit(mini_copy / "profile.toml", old, new)
    msg = load_error(mini_copy)
    assert "profile.toml" in msg and expected in msg


def test_duplicate_place_ids(mini_copy: Path):
    edit(mini_copy / "profile.toml", 'id = "post-b1"', 'id = "post-a1"')
    assert "'post-a1' is used twice" in load_error(mini_copy)


def test_kind_that_contradicts_the_list(mini_copy: Path):
    edit(mini_copy / "profile.toml", 'kind = "market"', 'kind = "post"')
    assert "listed under [[markets]]" in load_error(mini_copy)


def test_crossing_far_from_the_line(mini_copy: Path):
    edit(mini_copy / "profile.toml", "lon = 20.0\nlat = 45.10", "lon = 45.10\nlat = 20.0")
    msg = load_error(mini_copy)
    assert "north-gate" in msg and "from the line" in msg


def test_missing_line_file(mini_copy: Path):
    (mini_copy / "line.geojson").unlink()
    msg = load_error(mini_copy)
    assert "line.geojson" in msg and "missing" in msg


def test_line_file_not_json(mini_copy: Path):
    (mini_copy / "line.geojson").write_text("{not json", encoding="utf-8")
    msg = load_error(mini_copy)
    assert "line.geojson" in msg and "not valid" in msg


def test_line_with_a_gap(mini_copy: Path):
    data = json.loads((mini_copy / "line.geojson").read_text(encoding="utf-8"))
    data["features"][0]["geometry"]["coordinates"][0][-1] = [19.995, 45.04]  # break the join
    (mini_copy / "line.geojson").write_text(json.dumps(data), encoding="utf-8")
    msg = load_error(mini_copy)
    assert "line.geojson" in msg and "one continuous line" in msg


def test_line_that_misses_the_declared_start(mini_copy: Path):
    edit(
        mini_copy / "profile.toml",
        "start = { lon = 20.0, lat = 45.25",
        "start = { lon = 21.0, lat = 45.25",
    )
    msg = load_error(mini_copy)
    assert "line.geojson" in msg and "north tripoint" in msg


def test_line_of_the_wrong_type(mini_copy: Path):
    point = {"type": "Point", "coordinates": [20.0, 45.0]}
    (mini_copy / "line.geojson").write_text(json.dumps(point), encoding="utf-8")
    assert "expected LineString" in load_error(mini_copy)


def test_countries_without_a_side(mini_copy: Path):
    edit(mini_copy / "countries.geojson", '"CODE": "BB"', '"CODE": "XX"')
    msg = load_error(mini_copy)
    assert "countries.geojson" in msg and "'BB'" in msg


def test_missing_countries_file(mini_copy: Path):
    (mini_copy / "countries.geojson").unlink()
    msg = load_error(mini_copy)
    assert "countries.geojson" in msg and "missing" in msg


def test_bad_sector_length_override(mini_copy: Path):
    with pytest.raises(ConfigError, match="sector length"):
        load_profile(mini_copy, sector_length_km=-1.0)
