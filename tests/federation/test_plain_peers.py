"""Plain STIX peers (MISP, OpenCTI, scripts): incidents built with the OASIS stix2 library,
without our extension and with stix2's TLP 1.0 markings, sent by taxii2-client, are taken in
as received records; the objects as sent are kept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import stix2
from sqlalchemy import select
from taxii2client.v21 import Server

from sarhad.core.auth import CONSOLE, Role
from sarhad.core.markings import TLP
from sarhad.federation.models import Quarantined
from sarhad.incidents.models import Incident
from sarhad.sharing import service as sharing
from support import LiveNode

from .helpers import get
from .test_interop import BearerAuth


@pytest.fixture
def peer(live: LiveNode) -> str:
    """A peer that speaks plain STIX, registered on our node: its TAXII token."""
    with live.db.session() as s:
        _, token = sharing.add_partner(s, name="misp-ir", country="IR", actor=CONSOLE)
    return token


def send(node: LiveNode, token: str, objects: list[Any]) -> Any:
    """POST ``objects`` with taxii2-client, as a peer's script would."""
    with Server(f"{node.url}/taxii2/", auth=BearerAuth(token)) as server:
        [inbox] = [c for c in server.default.collections if c.can_write]
        envelope = {"objects": [json.loads(o.serialize()) for o in objects]}
        return inbox.add_objects(envelope, wait_for_completion=True)


def as_sent(obj: Any) -> dict[str, Any]:
    return json.loads(obj.serialize())


def test_a_stix2_incident_with_tlp1_is_a_received_record(live: LiveNode, peer: str) -> None:
    org = stix2.Identity(name="Sistan border liaison", identity_class="organization")
    marked = {"created_by_ref": org, "object_marking_refs": [stix2.TLP_GREEN]}
    incident = stix2.Incident(
        name="Fuel smugglers turned back near Mirjaveh",
        description="Three pickups with jerrycans turned back at the line.",
        labels=["smuggling_fuel"],
        external_references=[
            {
                "source_name": "misp",
                "external_id": "event-4411",
                "url": "https://misp.example/e/4411",
            }
        ],
        **marked,
    )
    place = stix2.Location(
        latitude=29.01, longitude=61.45, precision=5000, name="Mirjaveh", country="IR", **marked
    )
    located = stix2.Relationship(
        incident, "located-at", place, start_time="2026-11-19T22:30:00Z", **marked
    )
    sent = [org, stix2.TLP_GREEN, incident, place, located]
    status = send(live, peer, sent)
    assert (status.total_count, status.success_count, status.failure_count) == (5, 5, 0)

    row = get(live, incident.id.removeprefix("incident--"))
    assert row is not None and row.origin == "partner:misp-ir" and row.origin_node_id
    assert (row.title, row.category, row.tlp) == (incident.name, "smuggling_fuel", "green")
    assert row.narrative == incident.description
    assert row.sources == ["misp event-4411 https://misp.example/e/4411"]
    assert (row.lon, row.lat, row.location_precision, row.place) == (
        61.45,
        29.01,
        "near",
        "Mirjaveh",
    )
    assert row.reporting_side == "IR" and row.side == "IR"  # placed by locate
    assert row.occurred_at.isoformat().startswith("2026-11-19T22:30:00")
    assert row.date_precision == "exact"
    assert (row.civ_killed, row.sf_killed, row.asl_killed) == (0, 0, 0)  # none stated

    # The objects as the peer sent them are kept with the record.
    with live.client(Role.LIAISON) as c:
        [kept] = c.get(f"/api/v1/federation/originals/{row.id}").json()
        assert kept["partner"] == "misp-ir"
        assert kept["objects"] == [as_sent(incident), as_sent(place), as_sent(located)]
        # Shown and filtered like any record.
        listed = c.get("/api/v1/incidents", params={"category": "smuggling_fuel"}).json()
        assert row.id in {i["id"] for i in listed["items"]}
        assert c.get(f"/api/v1/federation/originals/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    ("marking", "tlp"),
    [(stix2.TLP_WHITE, TLP.CLEAR), (stix2.TLP_AMBER, TLP.AMBER), (stix2.TLP_RED, TLP.RED)],
    ids=["white", "amber", "red"],
)
def test_tlp1_levels_map_to_tlp2(live: LiveNode, peer: str, marking: Any, tlp: TLP) -> None:
    incident = stix2.Incident(name="Shots heard near the line", object_marking_refs=[marking])
    place = stix2.Location(latitude=28.95, longitude=61.6, object_marking_refs=[marking])
    status = send(live, peer, [incident, place, stix2.Relationship(incident, "located-at", place)])
    assert status.failure_count == 0
    assert get(live, incident.id.removeprefix("incident--")).tlp == tlp.value


def test_what_a_plain_incident_does_not_state(live: LiveNode, peer: str) -> None:
    # No labels, no marking, no precision, no time on the relationship.
    incident = stix2.Incident(name="Armed men seen crossing")
    place = stix2.Location(latitude=28.2, longitude=62.3)
    status = send(live, peer, [incident, place, stix2.Relationship(incident, "located-at", place)])
    assert status.failure_count == 0
    row = get(live, incident.id.removeprefix("incident--"))
    assert row.category == "other"  # no vocabulary we know says otherwise
    assert row.tlp == "amber"  # unmarked: kept as TLP:AMBER (fail closed)
    assert row.location_precision == "near"  # STIX: precision unspecified
    assert row.date_precision == "day" and row.occurred_at.date() == incident.created.date()
    assert (row.source_reliability, row.information_credibility) == ("F", "6")
    assert row.sources == [] and row.narrative == ""


def test_a_plain_incident_without_a_point_is_refused_with_its_parts(
    live: LiveNode, peer: str
) -> None:
    incident = stix2.Incident(name="Trouble somewhere in Sistan")
    region = stix2.Location(country="IR", administrative_area="Sistan and Baluchestan")
    link = stix2.Relationship(incident, "located-at", region)
    status = send(live, peer, [incident, region, link])
    assert (status.success_count, status.failure_count) == (0, 3)
    reasons = {f["id"]: f["message"] for f in status.failures}
    assert "a record needs a point" in reasons[incident.id]
    assert "which was refused" in reasons[region.id] and "which was refused" in reasons[link.id]
    with live.db.session() as s:
        assert s.get(Incident, incident.id.removeprefix("incident--")) is None
        assert len(s.scalars(select(Quarantined)).all()) == 3


def test_a_peer_corrects_and_withdraws_its_incident(live: LiveNode, peer: str) -> None:
    incident = stix2.Incident(name="Smugglers seen", object_marking_refs=[stix2.TLP_GREEN])
    place = stix2.Location(latitude=28.95, longitude=61.6, object_marking_refs=[stix2.TLP_GREEN])
    link = stix2.Relationship(incident, "located-at", place, object_marking_refs=[stix2.TLP_GREEN])
    send(live, peer, [incident, place, link])
    rid = incident.id.removeprefix("incident--")
    corrected = incident.new_version(name="Smugglers seen and turned back")
    assert send(live, peer, [corrected, place, link]).failure_count == 0
    assert get(live, rid).title == "Smugglers seen and turned back"
    withdrawn = corrected.revoke()  # a withdrawal needs no location
    assert send(live, peer, [withdrawn]).failure_count == 0
    row = get(live, rid)
    assert row.revoked and row.title == "Smugglers seen and turned back"
    with live.client(Role.LIAISON) as c:
        kept = c.get(f"/api/v1/federation/originals/{rid}").json()
    assert [k["objects"][0]["name"] for k in kept] == [
        incident.name,
        corrected.name,
        corrected.name,
    ]
    assert kept[-1]["objects"] == [as_sent(withdrawn)]
