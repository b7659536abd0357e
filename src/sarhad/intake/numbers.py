"""Numbers as the press writes them ("six", "12", "1,200"), and the check that a stored number
occurs in its supporting sentence.

News reports write casualty counts as small number words or digits; a table of the words is
all that needs (text2num/number-parser would add a dependency to read "twenty-one").
"""

from __future__ import annotations

import re

WORDS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}

#: A number as written: digits with thousands separators and decimals, or a number word.
NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    + "|".join(sorted(WORDS, key=len, reverse=True))
    + r")"
)


def word_number(token: str) -> int | None:
    """``"six"`` → 6, ``"a"`` → 1, anything else → None."""
    token = token.lower()
    if token in ("a", "an"):
        return 1
    return WORDS.get(token)


def parse_number(token: str) -> float | None:
    """A number token as a value: ``"1,200"`` → 1200.0, ``"six"`` → 6.0."""
    word = word_number(token)
    if word is not None:
        return float(word)
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


def occurs_in(value: float, sentence: str) -> bool:
    """Whether ``value`` is written in ``sentence`` (as digits or as a number word).

    >>> occurs_in(6, "no fewer than six soldiers were killed")
    True
    >>> occurs_in(7, "no fewer than six soldiers were killed")
    False
    >>> occurs_in(1200, "1,200 kg of hashish")
    True
    >>> occurs_in(30_000_000, "goods worth Rs30 million")
    True
    """
    for m in re.finditer(NUMBER, sentence, flags=re.IGNORECASE):
        start, end = m.span()
        # a word inside another word ("tone", "often") is not a number; "Rs30" is one
        glued = start > 1 and sentence[start - 2 : start].lower() == "rs"
        if (start > 0 and sentence[start - 1].isalnum() and not glued) or (
            end < len(sentence) and sentence[end].isalpha() and not m.group(0)[-1].isdigit()
        ):
            continue
        number = parse_number(m.group(0))
        if number is None:
            continue
        if number == value:
            return True
        # "Rs30 million", "40 billion rials": the scale word is part of the number as written
        scale = SCALE.match(sentence, end)
        if scale and number * SCALES[scale.group(1).lower()] == value:
            return True
    return False


SCALES = {"million": 1_000_000, "billion": 1_000_000_000, "m": 1_000_000, "bn": 1_000_000_000}
SCALE = re.compile(r" ?(million|billion|m|bn)\b", re.I)
