"""Traffic Light Protocol 2.0 markings and the one rule of where a marked record may go.

Every "may this go?" of the node is answered here, outbound and inbound:

- ``may_leave(tlp)``: may it leave the node at all (a partner, the public page)? RED never.
- ``may_go(tlp, limit)``: may it go to a partner whose agreement allows up to ``limit``?
- ``may_be_limit(limit)``: may an agreement's limit be ``limit``? RED never.
- ``offerable(limit)``: the levels a form offers (those ``may_go`` allows).
- ``may_forward(tlp)``: may a record received from one node be passed on to another?
- ``may_arrive(tlp, family)``: may a partner's record of this family arrive so marked?
  Incidents may arrive as RED (kept here, never passed on); alerts and crossings may not.

Each answer is a ``Verdict``; a refusal carries a ``Reason`` with a code and parameters (for
translation) as well as its English text.

>>> may_go(TLP.AMBER, TLP.GREEN).text
"TLP:AMBER is above the agreement's limit TLP:GREEN"
>>> may_go(TLP.RED, TLP.AMBER_STRICT).reason
Reason(code='tlp.red', params={})
>>> [t.value for t in offerable(TLP.GREEN)]
['clear', 'green']
>>> may_arrive(TLP.RED, Family.INCIDENT).ok, may_arrive(TLP.RED, Family.CROSSING).ok
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sarhad.core.i18n import Text, define


class TLP(StrEnum):
    """TLP 2.0 levels (FIRST, 2022), least to most restrictive. RED never leaves the node."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED: higher is more restrictive."""
        return list(TLP).index(self)

    @property
    def label(self) -> str:
        """The label as printed on documents, e.g. ``TLP:AMBER+STRICT``."""
        return f"TLP:{self.value.upper()}"

    @property
    def stix_id(self) -> str:
        """The published STIX marking-definition id of this level."""
        return STIX_TLP2_IDS[self]


# Published ids (oasis-open/cti-stix-common-objects, tlp-2.0); stix2 ships only TLP 1.0.
STIX_TLP2_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


class Family(StrEnum):
    """The kinds of record that travel between nodes, as far as markings are concerned."""

    INCIDENT = "incident"
    ALERT = "alert"
    CROSSING = "crossing"
    REPORT = "report"  # the joint monthly figures (federation/types/report.py)


#: TLP 2.0: only CLEAR and GREEN may be passed on beyond the organisation that received them.
FORWARDABLE: frozenset[TLP] = frozenset({TLP.CLEAR, TLP.GREEN})

#: Families a partner may send marked RED. TLP 2.0 RED is for named recipients: a partner (or
#: a plain STIX peer) may give us an incident for our eyes only, and we keep it here, since
#: RED never leaves a node. Alerts and crossing data are Sarhad's own types, made by Sarhad
#: nodes, which never send RED (``may_go``): one marked RED comes from a broken or forged
#: sender, and is quarantined.
ARRIVES_AS_RED: frozenset[Family] = frozenset({Family.INCIDENT})

#: The English text of each reason code; ``{name}`` is filled from the reason's parameters.
TEXTS: dict[str, str] = {
    "tlp.red": define("tlp.red", "TLP:RED never leaves the node"),
    "tlp.above_limit": define("tlp.above_limit", "{tlp} is above the agreement's limit {limit}"),
    "tlp.red_limit": define(
        "tlp.red_limit",
        "TLP:RED never leaves the node; the highest level that may be shared is amber+strict",
    ),
    "tlp.not_forwardable": define("tlp.not_forwardable", "{tlp} forbids forwarding"),
    "tlp.red_arrived": define(
        "tlp.red_arrived",
        "TLP:RED never leaves its node: a partner's {family} record may not arrive so marked",
    ),
}


@dataclass(frozen=True)
class Reason:
    """Why not: a stable ``code``, its ``params`` (labels, names) and the English ``text``."""

    code: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> Text:
        """The reason: English as a ``str``, and ``.in_(lang)`` for the reader's language."""
        return Text(self.code, self.params)


@dataclass(frozen=True)
class Verdict:
    """The answer to "may it go?": allowed when there is no ``reason``."""

    reason: Reason | None = None

    @property
    def ok(self) -> bool:
        """True when allowed."""
        return self.reason is None

    @property
    def text(self) -> str:
        """The refusal's text (a coded ``Text``, English as a ``str``); empty when allowed."""
        return "" if self.reason is None else self.reason.text


ALLOWED = Verdict()


def _no(code: str, **params: str) -> Verdict:
    return Verdict(Reason(code, params))


def may_leave(tlp: TLP) -> Verdict:
    """May a record so marked leave the node at all (to a partner, or onto the public page)?"""
    return _no("tlp.red") if tlp is TLP.RED else ALLOWED


def may_go(tlp: TLP, limit: TLP) -> Verdict:
    """May a record marked ``tlp`` go to a partner whose agreement allows up to ``limit``?"""
    leaves = may_leave(tlp)
    if not leaves.ok:
        return leaves
    if tlp.rank > limit.rank:
        return _no("tlp.above_limit", tlp=tlp.label, limit=limit.label)
    return ALLOWED


def may_be_limit(limit: TLP) -> Verdict:
    """May an agreement allow up to ``limit``? Any level but RED."""
    return _no("tlp.red_limit") if limit is TLP.RED else ALLOWED


def offerable(limit: TLP | None = None) -> list[TLP]:
    """The levels that may go under ``limit`` (None: under any agreement), least first."""
    top = TLP.AMBER_STRICT if limit is None else limit
    return [t for t in TLP if may_go(t, top).ok]


#: The levels an agreement's limit may take (and so, the levels that ever go anywhere).
LIMITS: tuple[TLP, ...] = tuple(t for t in TLP if may_be_limit(t).ok)


def may_forward(tlp: TLP) -> Verdict:
    """May a record received from one node be passed on to another? CLEAR and GREEN only."""
    return ALLOWED if tlp in FORWARDABLE else _no("tlp.not_forwardable", tlp=tlp.label)


def may_arrive(tlp: TLP, family: Family) -> Verdict:
    """May a partner's record of ``family`` arrive marked ``tlp``? (See ``ARRIVES_AS_RED``.)"""
    if tlp is TLP.RED and family not in ARRIVES_AS_RED:
        return _no("tlp.red_arrived", family=family.value)
    return ALLOWED


__all__ = [
    "ALLOWED",
    "ARRIVES_AS_RED",
    "FORWARDABLE",
    "LIMITS",
    "STIX_TLP2_IDS",
    "TEXTS",
    "TLP",
    "Family",
    "Reason",
    "Verdict",
    "may_arrive",
    "may_be_limit",
    "may_forward",
    "may_go",
    "may_leave",
    "offerable",
]
