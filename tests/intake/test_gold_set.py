"""The hand-labelled news gold set (tests/data/news/gold.jsonl) is well formed.

The news intake's rules and bench/news.py score against these labels, so a broken label would
silently move every figure: this checks the schema, that every piece of evidence is a substring
of its article, that every stored number is written in its evidence, the fixed train/test split,
and that no label holds a person's name.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sarhad.incidents.taxonomy import (
    UNITS_FOR,
    Category,
    Commodity,
    DatePrecision,
    LocationPrecision,
    Unit,
)

GOLD = Path(__file__).resolve().parents[1] / "data" / "news" / "gold.jsonl"

ARTICLE_KEYS = {
    "id",
    "split",
    "outlet",
    "title",
    "published",
    "url",
    "text",
    "same_event_as",
    "events",
}
EVENT_KEYS = {
    "kind",
    "category",
    "action",
    "crossing",
    "date",
    "date_precision",
    "place",
    "district",
    "province",
    "side",
    "location_precision",
    "counts",
    "seizures",
    "evidence",
}
PARTIES = {"security_forces", "civilians", "assailants"}
OUTCOMES = {"killed", "injured", "detained"}
QUALIFIERS = {None, "at least", "more than", "up to", "about"}
ACTIONS = {"opened", "closed", "reopened", "inaugurated"}
PROVINCES = {"PK": "Balochistan", "IR": "Sistan and Baluchestan"}
# Districts (PK) and counties (IR) of the border region, and the towns, villages and crossings
# the gold set names: every place label must be one of these (so none can be a person's name).
DISTRICTS = {
    "PK": {"Kech", "Gwadar", "Panjgur", "Washuk", "Chagai", "Awaran", "Kharan", "Pishin", "Quetta"},
    "IR": {
        "Saravan",
        "Sib and Suran",
        "Mirjaveh",
        "Zahedan",
        "Chabahar",
        "Rask",
        "Sarbaz",
        "Hirmand",
        "Khash",
        "Zabol",
        "Dashtiari",
        "Iranshahr",
        "Nikshahr",
    },
}
TOWNS = {
    "Turbat",
    "Tump",
    "Mand",
    "Buleda",
    "Hoshab",
    "Dasht",
    "Zamuran",
    "Jiwani",
    "Pasni",
    "Ormara",
    "Gabd",
    "Chedgi",
    "Parom",
    "Gichk",
    "Mashkel",
    "Besima",
    "Taftan",
    "Nokkundi",
    "Dalbandin",
    "Mashkay",
    "Jalq",
    "Kalagan",
    "Suran",
    "Lar",
    "Pishin",
    "Rimdan",
    "Negur",
}
KNOWN_PLACES = DISTRICTS["PK"] | DISTRICTS["IR"] | TOWNS | set(PROVINCES.values())
NUMBER_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
    13: "thirteen",
    14: "fourteen",
    15: "fifteen",
    16: "sixteen",
    17: "seventeen",
    18: "eighteen",
    19: "nineteen",
    20: "twenty",
    30: "thirty",
    40: "forty",
    50: "fifty",
    60: "sixty",
    70: "seventy",
    80: "eighty",
    90: "ninety",
    100: "hundred",
}


def _articles() -> list[dict[str, Any]]:
    with GOLD.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ARTICLES = _articles()


def _written(number: float, evidence: str) -> bool:
    """Whether a number is written in the evidence, as digits (with or without commas) or words."""
    # A figure glued to a currency prefix ("Rs30") is still written.
    low = re.sub(r"\brs(?=\d)", "rs ", evidence.lower())
    forms = {str(number), f"{number:,}"}
    if isinstance(number, float) and number.is_integer():
        forms |= {str(int(number)), f"{int(number):,}"}
    if number in NUMBER_WORDS:
        forms.add(NUMBER_WORDS[int(number)])
    if number >= 1_000_000 and number % 100_000 == 0:
        forms.add(f"{number / 1_000_000:g} million")  # "Rs30 million"
    if number >= 1_000_000_000 and number % 100_000_000 == 0:
        forms.add(f"{number / 1_000_000_000:g} billion")  # "40 billion rials"
    # A figure glued to its unit ("180kg") is written too; any other letter after it is not.
    after = r"(?![\w]|[.,]\d)|(?=(?:kg|g|t|l|km)\b)"
    return any(re.search(rf"(?<![\w.,]){re.escape(f)}(?:{after})", low) for f in forms)


def test_enough_articles_and_unique_ids() -> None:
    ids = [a["id"] for a in ARTICLES]
    assert len(ids) >= 180
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"n\d{3}", i) for i in ids)


def test_about_a_fifth_report_no_event() -> None:
    share = sum(not a["events"] for a in ARTICLES) / len(ARTICLES)
    assert 0.15 <= share <= 0.25


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a["id"])
def test_article_schema(article: dict[str, Any]) -> None:
    assert set(article) == ARTICLE_KEYS
    assert article["split"] in {"train", "test"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", article["published"])
    assert article["url"].startswith("https://example.invalid/")
    assert 60 <= len(article["text"].split()) <= 200
    for event in article["events"]:
        _check_event(article, event)


def _check_event(article: dict[str, Any], e: dict[str, Any]) -> None:
    text = article["text"]
    assert set(e) == EVENT_KEYS
    ev = e["evidence"]
    for value in ev.values():
        assert isinstance(value, str) and value in text, value
    if e["kind"] == "incident":
        assert e["category"] in set(Category)
        assert e["action"] is None and e["crossing"] is None
    else:
        assert e["kind"] == "crossing"
        assert e["category"] is None and e["action"] in ACTIONS
        assert e["crossing"] in ev["crossing"]
        assert not e["seizures"] and not any(e["counts"].values())
    assert "category" in ev
    # Time: never a day invented for a month; a dated event has its words.
    prec = e["date_precision"]
    if e["date"] is None:
        assert prec is None
    else:
        assert prec in set(DatePrecision) and "date" in ev
        pattern = {"month": r"\d{4}-\d\d", "year": r"\d{4}"}.get(prec, r"\d{4}-\d\d-\d\d")
        assert re.fullmatch(pattern, e["date"])
        assert e["date"] <= article["published"]
    # Place: from the gazetteer, its province matching its side.
    if e["location_precision"] is None:
        assert e["place"] is None and e["side"] is None
    else:
        assert e["location_precision"] in set(LocationPrecision) and "place" in ev
        assert e["side"] in PROVINCES and e["province"] == PROVINCES[e["side"]]
        if e["district"] is not None:
            assert e["district"] in DISTRICTS[e["side"]]
        if e["place"] is not None:
            assert e["place"] in KNOWN_PLACES
    # Counts: each number attached to its casualty word, written in the evidence.
    assert set(e["counts"]) == PARTIES
    numbers: list[float] = []
    for outcomes in e["counts"].values():
        assert set(outcomes) <= OUTCOMES
        for c in outcomes.values():
            assert set(c) == {"low", "best", "high", "qualifier"}
            assert c["qualifier"] in QUALIFIERS and isinstance(c["best"], int)
            numbers += [n for n in (c["low"], c["best"], c["high"]) if n is not None]
    if numbers:
        assert all(_written(n, ev["counts"]) for n in numbers), (numbers, ev["counts"])
    for s in e["seizures"]:
        assert Unit(s["unit"]) in UNITS_FOR[Commodity(s["commodity"])]
        assert _written(s["quantity"], ev["seizures"]), (s, ev["seizures"])


def test_evidence_number_check_rejects_an_absent_number() -> None:
    assert _written(2, "two Levies personnel were martyred")
    assert _written(9000, "seized 9,000 litres")
    assert _written(1.2, "1.2 tonnes of opium")
    assert not _written(3, "two Levies personnel were martyred")
    assert not _written(2, "1.2 tonnes")
    assert _written(30_000_000, "goods worth Rs30 million")
    assert _written(40_000_000_000, "goods worth 40 billion rials")
    assert _written(180, "180kg of hashish")
    assert not _written(18, "180kg of hashish")
    assert not _written(180, "1800kg of hashish")


# The sealed test split: articles n301 onwards, written and labelled on 2026-12-05 before any rule
# was changed for them. The earlier test split (numbers divisible by 3) was looked at while the
# rules were tuned, so its articles moved to train (see tests/data/news/README.md).
FIRST_SEALED = 301


def test_split_is_a_third_by_fixed_rule() -> None:
    for a in ARTICLES:
        anchor = a["same_event_as"] or a["id"]
        assert a["split"] == ("test" if int(anchor[1:]) >= FIRST_SEALED else "train"), a["id"]
    share = sum(a["split"] == "test" for a in ARTICLES) / len(ARTICLES)
    assert 0.32 <= share <= 0.38


def test_same_event_groups_stay_in_one_split() -> None:
    by_id = {a["id"]: a for a in ARTICLES}
    groups: Counter[str] = Counter()
    for a in ARTICLES:
        if a["same_event_as"] is not None:
            first = by_id[a["same_event_as"]]
            assert first["same_event_as"] is None and first["id"] < a["id"]
            assert first["split"] == a["split"]
            assert len(first["events"]) >= 1 and len(a["events"]) >= 1
            groups[first["id"]] += 1
    assert len(groups) >= 8 and all(n <= 2 for n in groups.values())


def test_no_label_holds_a_persons_name() -> None:
    for a in ARTICLES:
        # Capitalised runs of two or more words in the text that are not places: names, units,
        # organisations. A label value may never be one of them.
        runs = set(re.findall(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b", a["text"])) - KNOWN_PLACES
        for e in a["events"]:
            labels = {v for k, v in e.items() if k != "evidence" and isinstance(v, str)}
            assert not labels & runs, (a["id"], labels & runs)
