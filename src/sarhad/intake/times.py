"""When an event happened: time expressions in a sentence, resolved with their precision.

dateparser reads the expressions ("March 12", "Sunday", "in March", "yesterday") against the
article's publication date; chains ("two days later", "the next day") are anchored here on the
previous event's date, because dateparser resolves them against the article's date. A month
stays a month: no day is invented for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import dateparser

from sarhad.intake.numbers import word_number

_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_NUM = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a)"

#: (kind, pattern); the first match in a sentence wins, earlier kinds before later ones.
_EXPRESSIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "chain",
        re.compile(
            # "a day after <another event>" dates from that event, not from the one before
            rf"\b(?:{_NUM} days? (?:later|earlier)|{_NUM} days? after(?= *[,.;]| *$)|"
            r"the (?:next|following|previous) day|"
            r"a day (?:later|earlier)|the same day|hours later)\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            rf"\b(?:(?:on )?(?:{_DAYS}),? )?(?:(?:\d{{1,2}}(?:st|nd|rd|th)? (?:of )?"
            rf"(?:{_MONTHS})\.?|(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?)(?:,? \d{{4}})?)\b",
            re.I,
        ),
    ),
    ("yesterday", re.compile(r"\b(?:yesterday|last night)\b", re.I)),
    ("ago", re.compile(rf"\b{_NUM} (?:days?|weeks?) ago\b", re.I)),
    (
        "weekday",
        re.compile(
            rf"\b(?:(?:late|early) )?(?:on |last |this |from |next |until )?(?:{_DAYS})"
            r"(?:['’]s)?(?: (?:night|morning|evening|afternoon))?\b",
            re.I,
        ),
    ),
    (
        "week",
        re.compile(
            r"\b(?:earlier this week|this week|last week|past week|"
            r"(?:over|at|during) the weekend|last weekend)\b",
            re.I,
        ),
    ),
    # "since January" dates what came before, never the event: not read
    ("month", re.compile(rf"\b(?:(?:in|during|early|late|mid-?) )(?:{_MONTHS})\b", re.I)),
    ("month_rel", re.compile(r"\b(?:earlier this month|this month|last month)\b", re.I)),
    ("today", re.compile(r"\b(?:today|this morning|tonight|this evening|on the day)\b", re.I)),
]


@dataclass(frozen=True)
class When:
    """A resolved time: ISO date (``YYYY-MM-DD``, or ``YYYY-MM`` for a month) and precision."""

    value: str
    precision: str  # taxonomy DatePrecision: day | week | month
    start: int
    end: int

    def as_date(self) -> date:
        """The first day the value can mean (a month's first day, for ordering only)."""
        return date.fromisoformat(self.value if len(self.value) == 10 else self.value + "-01")


def _settings(base: date) -> dict[str, Any]:
    from datetime import datetime

    return {
        "RELATIVE_BASE": datetime(base.year, base.month, base.day, 12),
        "PREFER_DATES_FROM": "past",
        "RETURN_TIME_AS_PERIOD": True,
        "PREFER_DAY_OF_MONTH": "first",
    }


@lru_cache(maxsize=64)
def _parser(base: date) -> dateparser.date.DateDataParser:
    # Building a parser compiles its language's patterns: one per publication date, reused.
    return dateparser.date.DateDataParser(languages=["en"], settings=_settings(base))


def _parse(phrase: str, base: date) -> tuple[date, str] | None:
    parsed = _parser(base).get_date_data(phrase)
    if parsed.date_obj is None:
        return None
    return parsed.date_obj.date(), parsed.period or "day"


def _weekday(phrase: str, base: date) -> date:
    """The last such weekday before the publication date (a report is of days gone by);
    "from Tuesday", "next Tuesday": the first such day from the publication date on."""
    names = _DAYS.split("|")
    wanted = next(i for i, n in enumerate(names) if n in phrase.lower())
    # an announcement: days ahead ("from Tuesday"; but "from Tuesday's bombing" is past)
    if re.search(r"\b(?:from|next|until)\b", phrase, re.I) and not re.search("['’]s", phrase):
        return base + timedelta(days=(wanted - base.weekday()) % 7)
    back = (base.weekday() - wanted) % 7 or 7
    return base - timedelta(days=back)


def _chain(phrase: str, anchor: date) -> date:
    low = phrase.lower()
    if "same day" in low or "hours later" in low:
        return anchor
    if "next" in low or "following" in low:
        return anchor + timedelta(days=1)
    if "previous" in low:
        return anchor - timedelta(days=1)
    n = word_number(low.split()[0]) or 1
    return anchor + timedelta(days=-n if "earlier" in low else n)


#: "said on Monday", "told reporters on Tuesday": when it was said, not when it happened.
_SPEECH = re.compile(
    r"\b(?:said|says|told|confirmed|announced|stated|added|reported|statement|briefing|"
    r"quoted|claimed|disclosed|informed)\b"
    # up to three words ("told reporters", "said in a statement") but no new clause:
    # "officials said the attack took place on Sunday" dates the attack
    r"(?: (?!(?:that|the|it|he|she|they|when|was|were|had|has|took|happened|occurred)\b)"
    r"[\w'-]+){0,3},?\s*$",
    re.I,
)


def find_when(
    sentence: str, *, published: date, previous: date | None, skip_to: int = 0
) -> When | None:
    """The best time expression of ``sentence`` resolved, or None (offsets into the sentence).

    Expressions before ``skip_to`` (a dateline) and dates of speech ("said on Monday") are
    passed over; of the rest, the most specific kind wins, then the first.
    """
    found: list[tuple[int, int, str, re.Match[str]]] = []
    for rank, (kind, pattern) in enumerate(_EXPRESSIONS):
        for m in pattern.finditer(sentence):
            if m.start() < skip_to or _SPEECH.search(sentence[: m.start()]):
                continue
            found.append((rank, m.start(), kind, m))
    for _, _, kind, m in sorted(found, key=lambda f: (f[0], f[1])):
        when = _resolve(kind, m.group(0), published=published, previous=previous)
        # a report is of days gone by: a chain that lands after publication was misread
        if when is not None and not (kind == "chain" and when[0] > published.isoformat()):
            value, precision = when
            return When(value, precision, m.start(), m.end())
    return None


def _resolve(
    kind: str, phrase: str, *, published: date, previous: date | None
) -> tuple[str, str] | None:
    if kind == "chain":
        return _chain(phrase, previous or published).isoformat(), "day"
    if kind == "weekday":
        return _weekday(phrase, published).isoformat(), "day"
    if kind == "ago":
        n = word_number(phrase.split()[0].lower()) or int(phrase.split()[0])
        if "week" in phrase.lower():
            day = published - timedelta(days=7 * n)
            return (day - timedelta(days=day.weekday())).isoformat(), "week"
        return (published - timedelta(days=n)).isoformat(), "day"
    if kind == "yesterday":
        return (published - timedelta(days=1)).isoformat(), "day"
    if kind == "today":
        return published.isoformat(), "day"
    if kind == "week":
        back = 7 if "last" in phrase.lower() else 0
        if "weekend" in phrase.lower():  # the week of the last Saturday before publication
            back = (published.weekday() - 5) % 7 or 7
        day = published - timedelta(days=back)
        return (day - timedelta(days=day.weekday())).isoformat(), "week"
    if kind == "month_rel":
        first = published.replace(day=1)
        if "last" in phrase.lower():
            first = (first - timedelta(days=1)).replace(day=1)
        return first.isoformat()[:7], "month"
    parsed = _parse(
        re.sub(r"^(in|during|since|early|late|mid-?) ", "", phrase, flags=re.I), published
    )
    if parsed is None:
        return None
    day, period = parsed
    if day > published:  # "December 30" read in a January article: last year's
        day = day.replace(year=day.year - 1)
    if period == "month" or kind == "month":
        return day.isoformat()[:7], "month"
    return day.isoformat(), "day"
