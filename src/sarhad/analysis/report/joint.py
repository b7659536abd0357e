"""The joint report: our month's figures on the records we share with a partner, sent to it,
and compared, figure by figure, with the figures it sent us.

For one partner, three scopes (the same on both nodes, seen from each side):

* ``sender``: our records of the month that the partner holds (shared, not withdrawn);
* ``receiver``: the partner's records of the month as we received them;
* ``joint``: the events of both, a pair joined by a confirmed link counted once (the links
  room's rule, as every joint figure).

Each scope's figures: incidents, incidents per category, casualties by party and kind, and
seizures by commodity in normalised units (``figures.UNIT_FAMILY``, the report's one rule).
Seizures are left out when the agreement withholds them (``withheld``), so figures never
tell a partner what the agreement keeps from it. The partner's ``sender`` is compared with
our ``receiver`` and the other way round; ``joint`` with ``joint``.

Analysis and federation are on one floor, so what federation keeps (what the partner holds,
what was sent and received) comes through :class:`~sarhad.analysis.report.ports.ReportPorts`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.analysis.crossings.figures import parse_month
from sarhad.analysis.report.collect import incident_rows, joint_events
from sarhad.analysis.report.figures import (
    CASUALTY_FIELDS,
    THIS,
    UNIT_FAMILY,
    Row,
    by_provenance,
    month_start,
    shift,
)
from sarhad.analysis.report.ports import ReportPorts
from sarhad.core.i18n import Text, message
from sarhad.core.markings import TLP
from sarhad.incidents.models import Incident
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner

SCOPES = ("sender", "receiver", "joint")
#: Which of the partner's scopes is compared with each of ours.
MIRROR = {"sender": "receiver", "receiver": "sender", "joint": "joint"}
#: Figure families an agreement can withhold (``sharing.policy.WITHHOLDABLE``).
WITHHOLDABLE = ("seizures",)
#: The least restrictive marking a report gets: figures between two liaison offices are not
#: for the public, even when every record counted is CLEAR.
FLOOR = TLP.GREEN

Scopes = dict[str, dict[str, float]]


def scope_figures(rows: Sequence[Row], *, withheld: Sequence[str] = ()) -> dict[str, float]:
    """One scope's figures from its rows (one per record or event), names as the report
    object's extension has them (``federation.types.report.FIGURE_NAME``)."""
    out: dict[str, float] = {"incidents": float(len(rows))}
    cats: dict[str, float] = defaultdict(float)
    cas = dict.fromkeys(CASUALTY_FIELDS, 0.0)
    seized: dict[str, float] = defaultdict(float)
    for r in rows:
        cats[r.category] += 1
        for name, n in zip(CASUALTY_FIELDS, r.casualties, strict=True):
            cas[name] += n
        for commodity, unit, qty in r.seizures:
            family, factor = UNIT_FAMILY.get(unit, (unit, 1.0))
            seized[f"{commodity}.{family}"] += qty * factor
    out.update({f"category.{c}": n for c, n in sorted(cats.items())})
    out.update({f"casualties.{f}": n for f, n in cas.items()})
    if "seizures" not in withheld:
        out.update({f"seizures.{k}": round(v, 6) for k, v in sorted(seized.items())})
    return out


@dataclass
class SideFigures:
    """Our figures for one partner and month, with the marking they travel under."""

    partner: str
    month: str
    scopes: Scopes
    withheld: list[str]
    tlp: TLP


def side_figures(
    session: Session, *, month: str, partner: Partner, ports: ReportPorts,
    rows: Sequence[Row] | None = None,
) -> SideFigures:  # fmt: skip
    """Our figures on the records shared with ``partner`` in ``month`` (``rows``: the
    report's rows, when read already)."""
    terms = sharing.terms_for(session, partner=partner)
    withheld = sorted(set(WITHHOLDABLE) & set(terms.withheld_fields))
    read = rows if rows is not None else incident_rows(session, month=month)
    this = [r for r in read if r.month == THIS]
    ours_ids = [r.id for r in this if not r.partner]
    held = ports.held(session, partner.name, ours_ids) if ours_ids else set()
    theirs_ids = _from_node(session, [r.id for r in this if r.partner], partner.node_id)
    sent = [r for r in this if r.id in held]
    received = [r for r in this if r.id in theirs_ids]
    both = sent + received
    joint = by_provenance(both, joint_events(session, [r.id for r in both]))["joint"]
    scopes = {
        "sender": scope_figures(sent, withheld=withheld),
        "receiver": scope_figures(received, withheld=withheld),
        "joint": scope_figures(joint, withheld=withheld),
    }
    return SideFigures(partner.name, month, scopes, withheld, _marking(session, both))


def _from_node(session: Session, ids: Sequence[str], node_id: str | None) -> set[str]:
    """Those of ``ids`` (received records) that ``node_id`` originated."""
    if not ids or node_id is None:
        return set()
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(
            session.scalars(
                select(Incident.id).where(
                    Incident.id.in_(ids[start : start + 500]), Incident.origin_node_id == node_id
                )
            )
        )
    return found


def _marking(session: Session, rows: Sequence[Row]) -> TLP:
    """The most restrictive marking of the records counted (at least :data:`FLOOR`): a
    figure is as sensitive as the records it counts."""
    level = FLOOR
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for (value,) in session.execute(
            select(Incident.tlp).where(Incident.id.in_(ids[start : start + 500])).distinct()
        ):
            t = TLP(value)
            if t.rank > level.rank:
                level = t
    return level


@dataclass
class Shared:
    """What ``share_month`` did for one partner."""

    partner: str
    sent: bool  # a new version was made (False: the same figures went already)
    reason: Text | None = None  # why nothing can go to it (no node id, expired agreement …)


def share_month(session: Session, *, month: str, ports: ReportPorts, actor: str) -> list[Shared]:
    """Make our figures of ``month`` for every active partner and hand them to federation,
    which publishes them under the agreement (a month sent again replaces the version before;
    the same figures again make no new version). ``InvalidInput`` naming ``month`` when bad."""
    y, m = parse_month(month)
    month = f"{y:04d}-{m:02d}"
    rows = incident_rows(session, month=month)
    done = []
    for partner in sharing.list_partners(session):
        if not partner.active:
            continue
        if partner.node_id is None:
            done.append(
                Shared(
                    partner.name,
                    False,
                    message("report.share.no_node_id", "not a Sarhad node (no node id)"),
                )
            )
            continue
        mine = side_figures(session, month=month, partner=partner, ports=ports, rows=rows)
        sent = ports.send_figures(
            session, partner.name, month, mine.scopes, mine.withheld, mine.tlp, actor
        )
        done.append(Shared(partner.name, sent))
    return done


# --- the comparison the joint report prints --------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One figure of one scope: ours and the partner's (None: withheld by that side)."""

    scope: str
    name: str
    ours: float | None
    theirs: float | None

    @property
    def differs(self) -> bool:
        """Both sides state the figure and the numbers are not the same."""
        if self.ours is None or self.theirs is None:
            return False
        return abs(self.ours - self.theirs) > 1e-6


@dataclass
class Comparison:
    """Our figures and one partner's for one month, figure by figure."""

    partner: str
    month: str
    received_at: datetime
    version: int
    lines: list[Line] = field(default_factory=list)
    #: The partner withdrew its figures (its agreement with us no longer lets us have them):
    #: none of them are shown, only ours.
    withdrawn: bool = False

    def scope(self, name: str) -> list[Line]:
        """The lines of one scope, in order."""
        return [x for x in self.lines if x.scope == name]

    @property
    def differing(self) -> int:
        """How many figures differ."""
        return sum(1 for x in self.lines if x.differs)


def _order(name: str) -> tuple[int, str]:
    family = name.split(".", 1)[0]
    rank = {"incidents": 0, "category": 1, "casualties": 2, "seizures": 3}.get(family, 4)
    if family == "casualties":  # party and kind in the report's order, not alphabetical
        field_ = name.split(".", 1)[1]
        return rank, f"{CASUALTY_FIELDS.index(field_):02d}" if field_ in CASUALTY_FIELDS else name
    return rank, name


def compare(ours: SideFigures, theirs: Mapping[str, Any]) -> Comparison:
    """Line up our figures with those the partner sent (``theirs``: as federation keeps them:
    ``scopes``, ``withheld``, ``modified``, ``version``, ``withdrawn``)."""
    their_scopes = theirs.get("scopes")
    their_withheld = set(theirs.get("withheld") or ())
    scopes: Scopes = their_scopes if isinstance(their_scopes, dict) else {}
    modified = theirs.get("modified")
    version = theirs.get("version")
    out = Comparison(
        ours.partner,
        ours.month,
        modified if isinstance(modified, datetime) else month_start(shift(ours.month, 1)),
        version if isinstance(version, int) else 1,
        withdrawn=theirs.get("withdrawn") is True,
    )
    for scope in SCOPES:
        mine = ours.scopes[scope]
        other = scopes.get(MIRROR[scope], {})
        for name in sorted(set(mine) | set(other), key=_order):
            family = name.split(".", 1)[0]
            a = None if family in ours.withheld else mine.get(name, 0.0)
            b = None if out.withdrawn or family in their_withheld else other.get(name, 0.0)
            out.lines.append(Line(scope, name, a, b))
    return out


def comparisons(
    session: Session, *, month: str, ports: ReportPorts, rows: Sequence[Row] | None = None
) -> dict[str, Comparison]:
    """Partner → our figures beside those it sent for ``month`` (partners that sent some)."""
    received = ports.received(session, month)
    out = {}
    for partner in sharing.list_partners(session):
        theirs = received.get(partner.name)
        if theirs is None:
            continue
        mine = side_figures(session, month=month, partner=partner, ports=ports, rows=rows)
        out[partner.name] = compare(mine, theirs)
    return out
