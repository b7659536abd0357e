"""The monthly report's figures: provenance, a confirmed pair counted once, the statistics."""

from __future__ import annotations

from analysis.report_data import MONTH, december
from sarhad.analysis.crossings.figures import ReportParams
from sarhad.analysis.report.service import monthly_data
from sarhad.analysis.risk import RiskParams
from sarhad.border import BorderProfile
from sarhad.core.auth import Principal
from sarhad.core.db import Database


def _data(db: Database, profile: BorderProfile):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return monthly_data(
            s, profile=profile, month=MONTH, node_side="PK", risk_params=RiskParams(),
            crossing_params=ReportParams(), permutations=99,
        )  # fmt: skip


def test_each_figure_says_whose_records_and_a_linked_pair_counts_once(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    december(db, profile, duty)
    fig = _data(db, profile).figures
    total = {t.provenance: t for t in fig.trends if t.dimension == "all"}
    assert (total["ours"].month, total["partner"].month, total["joint"].month) == (8, 3, 10)
    assert total["ours"].previous == 2 and total["ours"].last_year == 1
    assert (fig.both, fig.only_ours, fig.only_partner) == (1, 7, 2)
    clash = {
        t.provenance: t.month
        for t in fig.trends
        if t.dimension == "category" and t.value == "armed_clash"
    }
    assert clash == {"ours": 1, "partner": 1, "joint": 1}
    # The joint event carries our record's figures (2 killed), not the sum nor theirs (3).
    assert fig.casualties["ours"]["sf_killed"] == 7
    assert fig.casualties["partner"]["sf_killed"] == 3
    assert fig.casualties["joint"]["sf_killed"] == 7


def test_seizures_are_summed_in_normalised_units(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    december(db, profile, duty)
    seized = _data(db, profile).figures.seizures["ours"]
    assert seized[("hashish", "kg")] == 3.5  # 1500 g + 2 kg
    assert seized[("diesel", "l")] == 1500.0  # 1.5 m3
