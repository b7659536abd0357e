"""Link decisions as a shareable object type: "these two records are one event", or not.

A ``sarhad-link`` object says that the node which wrote it decided on the pair (its own
record ``source_ref``, the receiving node's record ``target_ref``): ``confirmed``,
``rejected`` or ``withdrawn`` (it undid its decision). It has the shape of a STIX relationship
(source_ref, target_ref) with the decision on it; it is a new object type rather than a
``relationship`` because the incident type reads every ``relationship`` (its located-at
parts, bound into the incident's signature) and one STIX type has one reader (the registry
rule). Its id is derived from (author node, source, target), so each decision on the pair is
a new version of one object. It goes to a partner only when the agreement already let that
partner have our record (``out.holds``) and the other record is the partner's own; it is
signed like every record we originate (``publish._append``). On the way in the decision is
kept as the partner's decision on the link (``incidents.links.receive_decision``); an officer
accepts or contests it, and that answer travels back the same way. Mapping table:
docs/stix-mapping.md.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError
from sqlalchemy import select

from sarhad.core.errors import SarhadError
from sarhad.core.markings import TLP, Family
from sarhad.federation.identity import EXTENSION_AUTHOR
from sarhad.federation.stix.core import StixObject, parse_stix_timestamp, stix_timestamp
from sarhad.federation.stix.envelope import internal
from sarhad.federation.stix.new_sdo import (
    UUID_PATTERN,
    NewSdo,
    extension_definition,
    extension_of,
    why,
)
from sarhad.federation.types.base import Arrival, Changed, Inbound, ObjectType, Outbound, stamp
from sarhad.incidents import links
from sarhad.incidents.models import Incident, IncidentLink

log = logging.getLogger("sarhad.inbox")

LINK_TYPE = "sarhad-link"
LINK_EXTENSION_ID = "extension-definition--fd05c79a-238e-4446-bf08-9e2653059394"
"""The extension-definition of ``sarhad-link`` (generated once; never change it)."""
LINK_EXTENSION_CREATED = "2026-12-05T14:00:00.000Z"
LINK_SCHEMA_URL = (
    "https://github.com/sarhad-project/sarhad/blob/main/"
    f"src/sarhad/federation/schemas/{LINK_EXTENSION_ID}.json"
)
LINK_NAMESPACE = uuid.UUID("570735d3-41fa-4665-89f5-84424680dc78")
_INCIDENT_REF = rf"^incident--{UUID_PATTERN}$"


def link_stix_id(author_node_id: str, source_id: str, target_id: str) -> str:
    """The id of ``author``'s decision on the pair: the same for every decision on it."""
    return f"{LINK_TYPE}--{uuid.uuid5(LINK_NAMESPACE, f'{author_node_id}/{source_id}/{target_id}')}"


def link_definition(*, created_by_ref: str) -> dict[str, Any]:
    """The extension-definition of ``sarhad-link`` (fixed id and timestamps)."""
    return extension_definition(
        id_=LINK_EXTENSION_ID,
        created=LINK_EXTENSION_CREATED,
        name="sarhad-link-decision",
        description=(
            "A node's decision that its incident (source_ref) and the receiving node's "
            "incident (target_ref) report one event: confirmed, rejected or withdrawn."
        ),
        schema=LINK_SCHEMA_URL,
        created_by_ref=created_by_ref,
    )


def _decision(status: str) -> str:
    return status if status in ("confirmed", "rejected") else "withdrawn"


def link_to_stix(link: IncidentLink, *, identity_id: str, node_id: str, tlp: str) -> dict[str, Any]:
    """Our decision on a link, as the partner receives it (its record is our target)."""
    at = stix_timestamp(link.decided_at or link.created_at)
    return {
        "type": LINK_TYPE,
        "spec_version": "2.1",
        "id": link_stix_id(node_id, link.local_id, link.remote_id),
        "created_by_ref": identity_id,
        "created": stix_timestamp(link.created_at),
        "modified": at,
        "source_ref": f"incident--{link.local_id}",
        "target_ref": f"incident--{link.remote_id}",
        "decision": _decision(link.status),
        "decided_at": at,
        "object_marking_refs": [TLP(tlp).stix_id],
        "extensions": extension_of(LINK_EXTENSION_ID),
    }


class _LinkObj(NewSdo):
    model_config = ConfigDict(extra="forbid", strict=True)
    EXTENSION_ID = LINK_EXTENSION_ID
    FAMILY = Family.INCIDENT

    type: Literal["sarhad-link"]
    id: str = Field(pattern=rf"^sarhad-link--{UUID_PATTERN}$")
    source_ref: str = Field(pattern=_INCIDENT_REF)
    target_ref: str = Field(pattern=_INCIDENT_REF)
    decision: Literal["confirmed", "rejected", "withdrawn"]
    decided_at: str


class BadLinkObject(ValueError):
    """A partner's link object that breaks the mapping; the message says why."""


def parse_link(obj: StixObject, *, author: str | None) -> dict[str, Any]:
    """Check a partner's ``sarhad-link``: what ``links.receive_decision`` takes."""
    try:
        x = _LinkObj.model_validate(obj, strict=False)
    except ValidationError as exc:
        raise BadLinkObject(why(exc)) from None
    if author and x.created_by_ref != author:
        raise BadLinkObject(f"created_by_ref {x.created_by_ref} is not the partner ({author})")
    theirs = x.source_ref.removeprefix("incident--")
    ours = x.target_ref.removeprefix("incident--")
    node_id = x.created_by_ref.removeprefix("identity--")
    if x.id != link_stix_id(node_id, theirs, ours):
        raise BadLinkObject("id is not the one derived from (author, source_ref, target_ref)")
    try:
        at = parse_stix_timestamp(x.decided_at)
    except ValueError as exc:
        raise BadLinkObject(f"'decided_at' {exc}") from None
    return {"ours_id": ours, "theirs_id": theirs, "decision": x.decision, "decided_at": at}


class LinkType(ObjectType[dict[str, Any]]):
    """Decisions on links, to and from the partner whose record a link names."""

    name = "link"
    entities = frozenset({links.ENTITY})
    stix_types = frozenset({LINK_TYPE})

    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject:
        """The extension-definition of ``sarhad-link``."""
        return link_definition(created_by_ref=author)

    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        """Our decisions on pairs of this partner's record and one of ours it holds."""
        ids = list(dict.fromkeys(c.entity_id for c in changes))
        if not ids or out.partner.node_id is None:
            return []
        rows = list(
            out.session.scalars(
                select(IncidentLink).where(
                    IncidentLink.id.in_(ids), IncidentLink.remote_node_id == out.partner.node_id
                )
            )
        )
        if not rows:
            return []
        held = out.holds([f"incident--{x.local_id}" for x in rows])
        tlps = dict(
            out.session.execute(
                select(Incident.id, Incident.tlp).where(Incident.id.in_([x.local_id for x in rows]))
            ).all()
        )
        node_id = out.identity_id.removeprefix("identity--")
        return [
            link_to_stix(x, identity_id=out.identity_id, node_id=node_id, tlp=tlps[x.local_id])
            for x in rows
            if f"incident--{x.local_id}" in held and x.version > 0
        ]

    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[dict[str, Any]]]:
        """Check each decision from the partner (held ones are duplicates)."""
        keys = [(str(o.get("id"))[:200], stamp(o.get("modified"))) for o in objects]
        seen = inn.seen(keys)
        arrivals: list[Arrival[dict[str, Any]]] = []
        for obj, key in zip(objects, keys, strict=True):
            if key in seen:
                inn.duplicate(key)
                continue
            try:
                value = parse_link(obj, author=inn.author)
            except BadLinkObject as exc:
                reason = f"{key[0]}: {exc}"
            except Exception as exc:  # last resort: one object must never stop the batch
                reason = f"{key[0]}: {internal(exc)}"
            else:
                arrivals.append(Arrival(key, obj, value))
                continue
            inn.refuse(key[0] if isinstance(obj.get("id"), str) else None, reason, obj)
        return arrivals

    def store(self, inn: Inbound, arrivals: list[Arrival[dict[str, Any]]]) -> None:
        """Each decision in its own savepoint: one that fails leaves nothing behind."""
        partner = inn.partner
        for a in arrivals:
            try:
                if partner.node_id is None:
                    raise BadLinkObject("the partner's node id is not known yet")
                with inn.session.begin_nested():
                    stored = links.receive_decision(
                        inn.session,
                        partner_node_id=partner.node_id,
                        partner_name=partner.name,
                        **a.value,
                    )
            except (SarhadError, BadLinkObject) as exc:
                reason = f"{a.key[0]}: {getattr(exc, 'message', None) or exc}"
            except Exception as exc:  # last resort: one object must never stop the batch
                log.exception("storing %s from %s failed", a.key[0], partner.name)
                reason = f"{a.key[0]}: internal error while storing ({type(exc).__name__})"
            else:
                if stored:
                    inn.accept(a.key)
                else:
                    inn.duplicate(a.key, receipt=True)
                continue
            inn.refuse(a.key[0], reason, a.obj)
