"""The one marking rule (core.markings): where a record of each TLP level may go, and come from."""

from __future__ import annotations

import doctest
import string

import pytest

from sarhad.core import markings
from sarhad.core.markings import (
    LIMITS,
    TEXTS,
    TLP,
    Family,
    Reason,
    may_arrive,
    may_be_limit,
    may_forward,
    may_go,
    may_leave,
    offerable,
)

LEVELS = list(TLP)


def test_the_levels_run_from_least_to_most_restrictive() -> None:
    assert [t.rank for t in LEVELS] == [0, 1, 2, 3, 4]
    assert [t.label for t in LEVELS] == [
        "TLP:CLEAR",
        "TLP:GREEN",
        "TLP:AMBER",
        "TLP:AMBER+STRICT",
        "TLP:RED",
    ]


@pytest.mark.parametrize("tlp", LEVELS)
def test_only_red_never_leaves_the_node(tlp: TLP) -> None:
    verdict = may_leave(tlp)
    assert verdict.ok is (tlp is not TLP.RED)
    if tlp is TLP.RED:
        assert verdict.reason == Reason("tlp.red", {})
        assert verdict.text == "TLP:RED never leaves the node"
    else:
        assert verdict.reason is None and verdict.text == ""


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("tlp", LEVELS)
def test_a_record_goes_up_to_the_agreements_limit_and_red_never(tlp: TLP, limit: TLP) -> None:
    verdict = may_go(tlp, limit)
    assert verdict.ok is (tlp is not TLP.RED and tlp.rank <= limit.rank)
    if tlp is TLP.RED:
        assert verdict.reason is not None and verdict.reason.code == "tlp.red"
    elif not verdict.ok:
        assert verdict.reason == Reason("tlp.above_limit", {"tlp": tlp.label, "limit": limit.label})
        assert verdict.text == f"{tlp.label} is above the agreement's limit {limit.label}"


def test_red_goes_nowhere_even_under_a_red_limit() -> None:
    """``Terms`` and the schemas refuse a RED limit; the rule holds even if one slipped by."""
    assert not may_go(TLP.RED, TLP.RED).ok
    assert may_go(TLP.AMBER_STRICT, TLP.RED).ok


def test_an_agreement_may_allow_anything_but_red() -> None:
    assert LIMITS == (TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT)
    refused = may_be_limit(TLP.RED)
    assert not refused.ok and refused.reason is not None
    assert refused.reason.code == "tlp.red_limit"
    assert refused.text.startswith("TLP:RED never leaves the node")
    assert all(may_be_limit(t).ok for t in LIMITS)


def test_forms_offer_what_may_go() -> None:
    assert offerable() == list(LIMITS)  # no agreement narrows it: everything but RED
    for limit in LIMITS:
        assert offerable(limit) == [t for t in LEVELS if may_go(t, limit).ok]
        assert offerable(limit)[-1] is limit
    assert offerable(TLP.CLEAR) == [TLP.CLEAR]


@pytest.mark.parametrize("tlp", LEVELS)
def test_only_clear_and_green_are_passed_on(tlp: TLP) -> None:
    verdict = may_forward(tlp)
    assert verdict.ok is (tlp in (TLP.CLEAR, TLP.GREEN))
    if not verdict.ok:
        assert verdict.text == f"{tlp.label} forbids forwarding"


@pytest.mark.parametrize("family", list(Family))
@pytest.mark.parametrize("tlp", LEVELS)
def test_incidents_may_arrive_as_red_alerts_and_crossings_may_not(tlp: TLP, family: Family) -> None:
    verdict = may_arrive(tlp, family)
    assert verdict.ok is (tlp is not TLP.RED or family is Family.INCIDENT)
    if not verdict.ok:
        assert verdict.reason == Reason("tlp.red_arrived", {"family": family.value})
        assert verdict.text == (
            f"TLP:RED never leaves its node: a partner's {family.value} record may not arrive "
            "so marked"
        )


def test_every_reason_has_text_and_names_its_parameters() -> None:
    """A later translation works from (code, params): each text's fields are its params."""
    examples = [
        may_go(TLP.RED, TLP.AMBER),
        may_go(TLP.AMBER, TLP.GREEN),
        may_be_limit(TLP.RED),
        may_forward(TLP.AMBER),
        may_arrive(TLP.RED, Family.ALERT),
    ]
    reasons = [v.reason for v in examples]
    assert {r.code for r in reasons if r is not None} == set(TEXTS)
    for r in reasons:
        assert r is not None
        fields = {f for _, f, _, _ in string.Formatter().parse(TEXTS[r.code]) if f}
        assert fields == set(r.params)
        assert "{" not in r.text


def test_the_modules_examples_hold() -> None:
    result = doctest.testmod(markings)
    assert result.attempted >= 4 and result.failed == 0
