"""The joint report's figures and their comparison, on rows with a known answer (no nodes)."""

from __future__ import annotations

from datetime import UTC, datetime

from sarhad.analysis.report.figures import CASUALTY_FIELDS, THIS, Row
from sarhad.analysis.report.joint import SideFigures, compare, scope_figures
from sarhad.core.markings import TLP
from sarhad.federation.types.report import FIGURE_NAME


def row(category: str, *, sf_killed: int = 0, seizures: tuple = ()) -> Row:
    cas = tuple(sf_killed if f == "sf_killed" else 0 for f in CASUALTY_FIELDS)
    return Row(
        id=category, month=THIS, week=12, category=category, side="PK", sector="S01", km=1.0,
        lon=61.0, lat=29.0, partner=False, casualties=cas, seizures=seizures,
    )  # fmt: skip


def test_scope_figures_count_normalise_and_leave_out_what_is_withheld() -> None:
    rows = [
        row("armed_attack", sf_killed=2),
        row("smuggling_narcotics", seizures=(("hashish", "t", 0.5), ("hashish", "kg", 20))),
    ]
    figures = scope_figures(rows)
    assert figures["incidents"] == 2 and figures["category.armed_attack"] == 1
    assert figures["casualties.sf_killed"] == 2
    assert figures["seizures.hashish.kg"] == 520  # 0.5 t + 20 kg, in kg
    assert all(FIGURE_NAME.match(name) for name in figures)  # names the partner accepts
    assert not any(k.startswith("seizures.") for k in scope_figures(rows, withheld=["seizures"]))


def test_compare_mirrors_the_scopes_and_does_not_flag_what_a_side_withholds() -> None:
    ours = SideFigures(
        "ir-node", "2026-11",
        {
            "sender": {"incidents": 3.0, "seizures.hashish.kg": 10.0},
            "receiver": {"incidents": 1.0},
            "joint": {"incidents": 4.0},
        },
        [], TLP.AMBER,
    )  # fmt: skip
    theirs = {
        "scopes": {"sender": {"incidents": 1.0}, "receiver": {"incidents": 2.0}, "joint": {}},
        "withheld": ["seizures"],
        "modified": datetime(2026, 12, 1, tzinfo=UTC),
        "version": 3,
    }
    c = compare(ours, theirs)
    got = {(x.scope, x.name): (x.ours, x.theirs, x.differs) for x in c.lines}
    assert got[("sender", "incidents")] == (3.0, 2.0, True)  # ours held by them vs their view
    assert got[("receiver", "incidents")] == (1.0, 1.0, False)  # theirs as we got them
    assert got[("joint", "incidents")] == (4.0, 0.0, True)  # a figure they did not state: 0
    assert got[("sender", "seizures.hashish.kg")] == (10.0, None, False)  # they withhold it
    assert c.differing == 2 and c.version == 3
