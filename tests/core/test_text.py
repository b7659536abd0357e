"""The control-character rule of every inbound schema (``core.text.Inbound``), field by kind.

The rule is put only on the fields whose values can hold a string no other check sees; these
tests hold that every kind of field that can carry text still refuses a control character,
with the same message, at the same field, as when every field was checked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, ConfigDict, Field, ValidationError

from sarhad.core.text import FreeText, Inbound, Line
from sarhad.incidents.schemas import IncidentIn

pytestmark = pytest.mark.once_on("sqlite")  # no database: one run is enough

NUL = "contains a NUL character (U+0000) at character {at}; remove it"
BELL = "contains a control character (U+0007) at character {at}; remove it"


class Inner(Inbound):
    note: str = ""


class Kinds(Inbound):
    """One field of each kind an inbound schema has."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    plain: str = ""
    line: Line = "x"
    free: FreeText = ""
    maybe: str | None = None
    items: list[str] = Field(default_factory=list)
    nested: list[list[str]] = Field(default_factory=list)
    mapping: dict[str, str] = Field(default_factory=dict)
    extension: dict[str, Any] = Field(default_factory=dict)
    pair: tuple[int, str] = (0, "")
    either: int | str = 0
    anything: Any = None
    limited: Annotated[list[str], Field(max_length=3)] = Field(default_factory=list)
    bounded: Annotated[Line, Field(max_length=10)] | None = None
    shouted: Annotated[str, AfterValidator(str.upper)] = ""
    inner: Inner = Inner()
    inners: list[Inner] = Field(default_factory=list)
    number: int = 0
    when: datetime | None = None


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        ({"plain": "a\x00"}, ("plain",), NUL.format(at=2)),
        ({"line": "a\nb"}, ("line",), "contains a line break at character 2; write it on one line"),
        ({"free": "ok\x07"}, ("free",), BELL.format(at=3)),
        ({"maybe": "\x07"}, ("maybe",), BELL.format(at=1)),
        ({"items": ["ok", "b\x00"]}, ("items",), "item 2 " + NUL.format(at=2)),
        ({"nested": [["ok"], ["x", "\x00"]]}, ("nested",), "item 2 item 2 " + NUL.format(at=1)),
        ({"mapping": {"k": "v\x00"}}, ("mapping",), "entry 'k' " + NUL.format(at=2)),
        ({"mapping": {"k\x07": "v"}}, ("mapping",), "entry 'k\\x07' " + BELL.format(at=2)),
        (
            {"extension": {"a": {"b": ["c", "\x07"]}}},
            ("extension",),
            "entry 'a' entry 'b' item 2 " + BELL.format(at=1),
        ),
        ({"pair": [1, "\x00"]}, ("pair",), "item 2 " + NUL.format(at=1)),
        ({"either": "\x00"}, ("either",), NUL.format(at=1)),
        ({"anything": {"x": "\x00"}}, ("anything",), "entry 'x' " + NUL.format(at=1)),
        ({"limited": ["\x00"]}, ("limited",), "item 1 " + NUL.format(at=1)),
        ({"bounded": "a\x00"}, ("bounded",), NUL.format(at=2)),
        ({"shouted": "a\x00"}, ("shouted",), NUL.format(at=2)),
        ({"inner": {"note": "\x00"}}, ("inner", "note"), NUL.format(at=1)),
        ({"inners": [{"note": "ok"}, {"note": "\x07"}]}, ("inners", 1, "note"), BELL.format(at=1)),
    ],
)
def test_a_control_character_in_any_kind_of_field_is_refused_naming_it(
    data: dict[str, Any], loc: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Kinds.model_validate(data)
    [error] = caught.value.errors()
    assert error["loc"] == loc
    assert error["type"] == "value_error"
    assert error["msg"] == f"Value error, {message}"


def test_clean_values_of_every_kind_pass_unchanged() -> None:
    data = {
        "plain": "  Taftan\tbazaar  ",
        "line": "one line",
        "free": "two\r\nlines\tand a tab, منشیات ضبط\u200c شد",
        "items": ["a"],
        "nested": [["b"]],
        "mapping": {"k": "v"},
        "extension": {"a": {"b": ["c", 1, None]}},
        "pair": [1, "z"],
        "either": "text",
        "anything": ["x"],
        "limited": ["y"],
        "bounded": "short",
        "shouted": "loud",
        "inner": {"note": "n"},
        "inners": [{"note": "m"}],
        "number": 3,
        "when": "2026-12-05T10:00:00Z",
    }
    got = Kinds.model_validate(data)
    assert got.plain == "Taftan\tbazaar" and got.shouted == "LOUD"
    assert got.free == data["free"] and got.extension == data["extension"]


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"title": "Fuel\x00convoy"}, ("title",), "NUL"),
        ({"narrative": "seen\x1b[31m"}, ("narrative",), "U+001B"),
        ({"sources": ["ok", "bad\x07"]}, ("sources", 1), "U+0007"),
        (
            {"location": {"lon": 61.7, "lat": 26.1, "place": "Taftan\x00"}},
            ("location", "place"),
            "NUL",
        ),
    ],
)
def test_an_incident_refuses_control_characters_at_the_field(
    change: dict[str, Any], field: tuple[Any, ...], says: str
) -> None:
    body = {
        "title": "Fuel convoy intercepted",
        "category": "smuggling_fuel",
        "occurred_at": "2026-11-21T02:00:00Z",
        "location": {"lon": 61.7, "lat": 26.1},
        "reporting_side": "IR",
        **change,
    }
    with pytest.raises(ValidationError) as caught:
        IncidentIn.model_validate(body)
    [error] = caught.value.errors()
    assert error["loc"] == field and says in error["msg"]
