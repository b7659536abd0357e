"""The joint monthly report through federation: each node sends its month's figures on the
shared records to the other as a STIX ``report``, and each side's joint report shows both
sides' figures side by side, flagging where they differ (two real nodes on loopback)."""

from __future__ import annotations

import copy
import subprocess
from typing import Any

import pytest
from sqlalchemy import func, select

from sarhad.analysis.report.joint import Comparison, comparisons, share_month
from sarhad.core.auth import CONSOLE, Role
from sarhad.core.journal import AuditLog, ChangeLog
from sarhad.federation.publish import publish_partner
from sarhad.federation.service import local_node
from sarhad.federation.stix.core import validate_with_oasis
from sarhad.federation.types.report import REPORT_EXTENSION_ID, JointReport
from sarhad.node import report_ports
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode

from .conftest import Pair
from .helpers import record, resign, sync
from .test_signatures import outbound, post, quarantined, refusal

MONTH = "2026-11"


def share(node: LiveNode) -> dict[str, bool]:
    """``node`` makes its figures of the month for every partner (``report share``)."""
    with node.db.session() as s:
        done = share_month(s, month=MONTH, ports=report_ports(), actor=CONSOLE.username)
    return {d.partner: d.sent for d in done}


def compared(node: LiveNode) -> dict[str, Comparison]:
    with node.db.session() as s:
        return comparisons(s, month=MONTH, ports=report_ports())


def line(c: Comparison, scope: str, name: str) -> tuple[float | None, float | None, bool]:
    found = next(x for x in c.lines if x.scope == scope and x.name == name)
    return found.ours, found.theirs, found.differs


@pytest.mark.once_on("sqlite")
def test_each_side_shows_the_others_figures_and_flags_the_difference(pair: Pair) -> None:
    # PK: two seizures (120 kg of hashish and one civilian injured each); IR: one attack.
    record(pair.pk)
    record(pair.pk, occurred_at="2026-11-22T08:00:00Z")
    record(
        pair.ir, reporting_side="IR", category="armed_attack", seizures=[],
        casualties={"security_forces": {"killed": 2}}, title="Post attacked near Mirjaveh",
    )  # fmt: skip
    sync(pair.pk)
    sync(pair.ir)  # each now holds the other's records
    assert share(pair.pk) == {"ir-node": True}
    assert share(pair.ir) == {"pk-node": True}
    assert share(pair.pk) == {"ir-node": False}  # the same figures again: no new version
    sync(pair.pk)
    sync(pair.ir)

    pk, ir = compared(pair.pk)["ir-node"], compared(pair.ir)["pk-node"]
    assert pk.differing == 0 and ir.differing == 0, (pk.lines, ir.lines)
    # PK's records as PK counts them and as IR received them; IR's likewise; joint events.
    assert line(pk, "sender", "incidents") == (2.0, 2.0, False)
    assert line(ir, "receiver", "incidents") == (2.0, 2.0, False)
    assert line(ir, "receiver", "seizures.hashish.kg") == (240.0, 240.0, False)
    assert line(ir, "receiver", "casualties.civ_injured") == (2.0, 2.0, False)
    assert line(pk, "receiver", "casualties.sf_killed") == (2.0, 2.0, False)
    assert line(ir, "sender", "category.armed_attack") == (1.0, 1.0, False)
    assert line(pk, "joint", "incidents") == (3.0, 3.0, False)  # no pair linked: 3 events

    # PK records one more and sends its figures again; IR has not made its own since.
    record(pair.pk, occurred_at="2026-11-25T08:00:00Z")
    sync(pair.pk)
    assert share(pair.pk) == {"ir-node": True}
    sync(pair.pk)
    pk, ir = compared(pair.pk)["ir-node"], compared(pair.ir)["pk-node"]
    assert line(pk, "sender", "incidents") == (3.0, 2.0, True)  # IR's figures are older
    assert line(ir, "receiver", "incidents") == (3.0, 3.0, False)  # PK's new version
    assert ir.version == 2
    with pair.ir.db.session() as s:  # replaced, never doubled
        rows = s.scalars(select(JointReport).where(JointReport.direction == "received")).all()
        assert [(r.month, r.version) for r in rows] == [(MONTH, 2)]
        assert s.scalar(select(func.count()).where(AuditLog.action == "joint_report.receive")) == 2
    with pair.pk.db.session() as s:
        sent = s.scalars(select(JointReport).where(JointReport.direction == "sent")).one()
        assert sent.version == 2
        assert s.scalar(select(func.count()).where(ChangeLog.entity == "joint_report")) == 2

    # The PDF PK's analyst downloads shows IR's figures beside PK's, with the flag.
    with pair.pk.client(Role.ANALYST) as c:
        r = c.get(
            "/api/v1/analysis/monthly-report",
            params={"month": MONTH, "lang": "en", "joint": "true"},
            timeout=120,
        )
    assert r.status_code == 200, r.text
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=r.content, check=True, capture_output=True
    ).stdout.decode()
    joint_page = text[text.index("Both sides' figures") :]
    # One record more on PK's side: its count, category, casualties, seizures and the joint
    # ones differ (8 figures), and the tables say so.
    assert "ir-node" in joint_page and "Figures that differ: 8" in joint_page
    lines = joint_page.splitlines()
    held = next(n for n, x in enumerate(lines) if x.strip().startswith("Our records the"))
    first = next(x for x in lines[held:] if x.strip().startswith("Incidents"))
    assert first.split() == ["Incidents", "3", "2", "yes"]


def _report(node: LiveNode, partner: str) -> dict[str, Any]:
    return next(o for o in outbound(node, partner) if o["type"] == "report")


@pytest.mark.once_on("sqlite")
def test_bad_figures_are_quarantined_and_the_agreement_decides(pair: Pair) -> None:
    record(pair.pk)
    record(pair.ir, reporting_side="IR")  # AMBER, as every record here
    sync(pair.pk)
    sync(pair.ir)
    share(pair.pk)
    good = _report(pair.pk, "ir-node")
    ext = good["extensions"][REPORT_EXTENSION_ID]
    assert ext["month"] == MONTH and ext["scopes"]["sender"]["incidents"] == 1
    assert "signature" in ext  # signed like every record we originate
    assert validate_with_oasis([good]) == []

    def variant(change: Any, n: int) -> dict[str, Any]:
        obj = copy.deepcopy(good)
        obj["modified"] = obj["published"] = f"2026-12-31T00:00:0{n}.000Z"
        obj["extensions"][REPORT_EXTENSION_ID].pop("signature")
        change(obj["extensions"][REPORT_EXTENSION_ID])
        return obj

    bad = {
        "negative": variant(lambda e: e["scopes"]["sender"].update(incidents=-1), 1),
        "name": variant(lambda e: e["scopes"]["joint"].update({"category.X; drop": 1}), 2),
        "other node": variant(
            lambda e: e.update(to_node="0" * 8 + "-0000-4000-8000-" + "0" * 12), 3
        ),
        "too many": variant(
            lambda e: e["scopes"]["receiver"].update({f"category.c{i}": 1 for i in range(301)}), 4
        ),
        "string": variant(lambda e: e["scopes"]["sender"].update(incidents="1"), 5),
    }
    status = post(pair.ir, "pk-node", resign(pair.pk, list(bad.values())))
    assert status["failure_count"] == 5 and status["success_count"] == 0
    reasons = [r["message"] for r in status["failures"]]
    assert any("scopes.sender.incidents: -1 is not a count" in r for r in reasons), reasons
    assert any("'category.X; drop' is not a figure name" in r for r in reasons), reasons
    assert any("to_node: the report is for node 00000000" in r for r in reasons), reasons
    assert any("figures, more than 300" in r for r in reasons), reasons
    assert any("scopes.sender.incidents: must be a number" in r for r in reasons), reasons
    assert len(quarantined(pair.ir, good["id"])) == 5
    with pair.ir.db.session() as s:
        assert s.scalars(select(JointReport)).all() == []  # nothing of them stored

    tampered = copy.deepcopy(good)
    tampered["extensions"][REPORT_EXTENSION_ID]["scopes"]["sender"]["incidents"] = 9
    assert "signature: bad signature" in refusal(post(pair.ir, "pk-node", [tampered]), good["id"])
    assert post(pair.ir, "pk-node", [good])["success_count"] == 1  # the real one is taken
    # A plain STIX report (as MISP or OpenCTI send) is no figures of ours: kept as a receipt.
    plain = {k: v for k, v in good.items() if k != "extensions"}
    plain["id"] = "report--6f1c1e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    assert post(pair.ir, "pk-node", [plain])["success_count"] == 1
    with pair.ir.db.session() as s:
        assert s.scalars(select(JointReport.stix_id)).all() == [good["id"]]

    # The agreement decides: a report marked AMBER (it counts AMBER records: IR's, as PK
    # received them) does not go to a partner whose limit is GREEN; it is withheld with the
    # marking rule's reason.
    with pair.pk.db.session() as s:
        sharing.set_agreement(
            s, partner="ir-node", changes=AgreementIn(max_tlp="green"), actor=CONSOLE
        )
    with pair.pk.db.session() as s:
        p = sharing.get_partner(s, name="ir-node")
        done = share_month(s, month=MONTH, ports=report_ports(), actor=CONSOLE.username)
        assert [d.sent for d in done] == [False]  # the same figures: no new version, but
        # the changed agreement makes publish read every report again
        report = publish_partner(s, node=local_node(s, pair.pk.settings), partner=p)
    assert report.withheld[good["id"]] == ["TLP:AMBER is above the agreement's limit TLP:GREEN"]


def _received(node: LiveNode) -> list[tuple[str, int, bool]]:
    with node.db.session() as s:
        rows = s.scalars(select(JointReport).where(JointReport.direction == "received")).all()
        return [(r.month, r.version, bool(r.figures.get("withdrawn"))) for r in rows]


def _narrow(node: LiveNode, **changes: Any) -> None:
    with node.db.session() as s:
        sharing.set_agreement(
            s, partner="ir-node", changes=AgreementIn.model_validate(changes), actor=CONSOLE
        )


def test_a_report_the_partner_may_no_longer_have_is_withdrawn_on_its_side(pair: Pair) -> None:
    """The agreement narrows after our figures reached the partner: the copy it holds is
    withdrawn (audited on both sides), its joint report stops showing our figures and says
    so; sharing the month again under the new terms sends figures it may have."""
    record(pair.pk)  # 120 kg of hashish, AMBER (as every record here)
    record(pair.ir, reporting_side="IR")
    sync(pair.pk)
    sync(pair.ir)
    share(pair.pk)
    sync(pair.pk)  # IR holds PK's figures
    assert line(compared(pair.ir)["pk-node"], "receiver", "seizures.hashish.kg")[1] == 120.0
    assert _received(pair.ir) == [(MONTH, 1, False)]

    # 1. PK's agreement now withholds seizures: the figures IR holds name them, so they go.
    _narrow(pair.pk, withheld_fields=["sources", "seizures"])
    sync(pair.pk)
    ir = compared(pair.ir)["pk-node"]
    assert ir.withdrawn and all(x.theirs is None for x in ir.lines), ir.lines
    assert line(ir, "sender", "incidents")[0] == 1.0  # IR's own figures stay
    assert _received(pair.ir) == [(MONTH, 2, True)]
    with pair.ir.db.session() as s:  # none of PK's figures kept
        row = s.scalars(select(JointReport).where(JointReport.direction == "received")).one()
        assert row.figures["scopes"] == {"sender": {}, "receiver": {}, "joint": {}}
        assert s.scalar(
            select(func.count()).where(AuditLog.action == "joint_report.withdrawn")
        ) == 1  # fmt: skip
    with pair.pk.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "joint_report.withdraw")).one()
        assert entry.detail["partner"] == "ir-node" and entry.detail["month"] == MONTH
        assert entry.detail["reason"] == "the agreement withholds seizures"
    held = _report(pair.pk, "ir-node")
    assert held["revoked"] is True  # the partner's collection: the withdrawal is the latest
    assert validate_with_oasis([held]) == []

    # Nothing more goes while it stays withdrawn: another pass sends nothing new.
    sync(pair.pk)
    assert _received(pair.ir) == [(MONTH, 2, True)]

    # 2. Shared again under the new terms: figures without seizures, a newer version.
    assert share(pair.pk) == {"ir-node": True}
    sync(pair.pk)
    ir = compared(pair.ir)["pk-node"]
    assert not ir.withdrawn
    assert line(ir, "receiver", "incidents") == (1.0, 1.0, False)
    # IR's seizures as PK holds them: PK's agreement withholds seizures now (a dash).
    assert line(ir, "sender", "seizures.hashish.kg") == (120.0, None, False)
    assert _received(pair.ir) == [(MONTH, 3, False)]

    # 3. PK's TLP limit drops below the report's marking (it counts AMBER records).
    _narrow(pair.pk, max_tlp="green")
    sync(pair.pk)
    assert _received(pair.ir) == [(MONTH, 4, True)]
    with pair.pk.db.session() as s:
        reasons = s.scalars(
            select(AuditLog.detail).where(AuditLog.action == "joint_report.withdraw")
        ).all()
        assert reasons[-1]["reason"] == "TLP:AMBER is above the agreement's limit TLP:GREEN"

    # IR's joint report (the PDF its analyst downloads) says so, and shows no PK figure.
    with pair.ir.client(Role.ANALYST) as c:
        r = c.get(
            "/api/v1/analysis/monthly-report",
            params={"month": MONTH, "lang": "en", "joint": "true"},
            timeout=120,
        )
    assert r.status_code == 200, r.text
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=r.content, check=True, capture_output=True
    ).stdout.decode()
    joint_page = " ".join(text[text.index("Both sides' figures") :].split())
    assert "pk-node Withdrawn by the partner" in joint_page, joint_page[:600]
    assert "Figures received" not in joint_page
    assert "Our records the partner holds" not in joint_page  # no table of PK's figures

    # 4. The limit is raised again and the month shared anew: IR has figures again; then the
    # agreement is made to expire (set in the past): withdrawn once more, with that reason.
    _narrow(pair.pk, max_tlp="amber")
    assert share(pair.pk) == {"ir-node": True}
    sync(pair.pk)
    assert _received(pair.ir) == [(MONTH, 5, False)]
    _narrow(pair.pk, expires_at="2026-12-01T00:00:00Z")
    sync(pair.pk)
    assert _received(pair.ir) == [(MONTH, 6, True)]
    with pair.pk.db.session() as s:
        reasons = s.scalars(
            select(AuditLog.detail).where(AuditLog.action == "joint_report.withdraw")
        ).all()
        assert [r["reason"] for r in reasons][-1] == "agreement expired"
        assert len(reasons) == 3
