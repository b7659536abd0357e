"""Incidents: stored with their place on the border, versioned, moved through their lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sarhad.border import BorderProfile
from sarhad.core.auth import Principal, Role
from sarhad.core.db import Database
from sarhad.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sarhad.core.journal import AuditLog, ChangeLog, verify_audit
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn, IncidentPatch, Transition
from sarhad.incidents.taxonomy import Status

TAFTAN = (61.58661, 28.94687)


def incident(**over: object) -> IncidentIn:
    base: dict[str, object] = {
        "title": "Hashish seized near Taftan",
        "category": "smuggling_narcotics",
        "occurred_at": "2026-11-20T14:30:00+05:00",
        "location": {"lon": TAFTAN[0], "lat": TAFTAN[1], "precision": "near", "place": "Taftan"},
        "reporting_side": "PK",
        "casualties": {"assailants": {"detained": 2}},
        "seizures": [{"commodity": "hashish", "quantity": 120, "unit": "kg"}],
        "grading": {"source_reliability": "B", "information_credibility": 2},
        "tlp": "amber",
        "narrative": "Vehicle stopped at a checkpoint.",
        "sources": ["FC patrol report 14/11"],
    }
    base.update(over)
    return IncidentIn.model_validate(base)


def create(db: Database, profile: BorderProfile, actor: Principal, **over: object) -> Incident:
    with db.session() as s:
        return service.create_incident(s, data=incident(**over), actor=actor, profile=profile)


def test_stored_incident_is_enriched_by_locate(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    row = create(db, profile, duty)
    expected = profile.locate(*TAFTAN)
    with db.session() as s:
        out = service.to_out(service.get_incident(s, incident_id=row.id))
    assert out.status == Status.DRAFT and out.version == 1
    assert out.enrichment.side == "PK" == expected.side
    assert out.enrichment.sector == expected.sector
    assert out.enrichment.km == pytest.approx(expected.km, abs=1e-3)
    assert out.enrichment.distance_m == pytest.approx(expected.distance_m, abs=1e-2)
    assert out.enrichment.nearest_crossing.id == expected.nearest_crossing
    assert out.occurred_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert out.seizures[0].quantity == 120 and out.seizures[0].unit == "kg"
    assert out.casualties.assailants.detained == 2
    assert out.casualties.civilians.killed == 0
    assert out.grading.information_credibility == "2"


def test_create_writes_change_log_version_and_audit_in_one_go(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    row = create(db, profile, duty)
    with db.session() as s:
        changes = s.scalars(select(ChangeLog)).all()
        audit = s.scalars(select(AuditLog)).all()
        versions = service.list_versions(s, incident_id=row.id)
    assert [(c.entity, c.entity_id, c.version, c.op) for c in changes] == [
        ("incident", row.id, 1, "create")
    ]
    assert [(a.action, a.actor, a.change_seq) for a in audit] == [
        ("incident.create", "taftan-duty", 1)
    ]
    assert [v.version for v in versions] == [1]


def test_edit_makes_a_new_version_and_keeps_history(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    row = create(db, profile, duty)
    mirjaveh = {"lon": 61.44959, "lat": 29.0148, "precision": "exact"}
    with db.session() as s:
        service.update_incident(
            s,
            incident_id=row.id,
            actor=duty,
            profile=profile,
            patch=IncidentPatch.model_validate(
                {
                    "expected_version": 1,
                    "location": mirjaveh,
                    "seizures": [{"commodity": "hashish", "quantity": 150, "unit": "kg"}],
                }
            ),
        )
    with db.session() as s:
        versions = service.list_versions(s, incident_id=row.id)
        current = service.to_out(service.get_incident(s, incident_id=row.id))
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].changed == ["enrichment", "location", "seizures"]
    assert versions[0].record.seizures[0].quantity == 120  # the old version is kept as it was
    assert versions[0].record.enrichment.side == "PK"
    assert current.seizures[0].quantity == 150
    assert current.enrichment.side == "IR"  # re-placed on the border after the move


def test_edit_with_no_change_makes_no_version(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    row = create(db, profile, duty)
    with db.session() as s:
        out = service.update_incident(
            s,
            incident_id=row.id,
            actor=duty,
            profile=profile,
            patch=IncidentPatch(expected_version=1, title=row.title),
        )
    assert out.version == 1


def test_stale_edit_is_refused(db: Database, profile: BorderProfile, duty: Principal) -> None:
    row = create(db, profile, duty)
    with db.session() as s:
        service.update_incident(
            s,
            incident_id=row.id,
            actor=duty,
            profile=profile,
            patch=IncidentPatch(expected_version=1, title="First edit"),
        )
    with pytest.raises(Conflict, match="version 2, not 1"), db.session() as s:
        service.update_incident(
            s,
            incident_id=row.id,
            actor=duty,
            profile=profile,
            patch=IncidentPatch(expected_version=1, title="Lost update"),
        )


def test_lifecycle_and_roles(
    db: Database, profile: BorderProfile, duty: Principal, commander: Principal
) -> None:
    row = create(db, profile, duty)

    def step(to: str, version: int, actor: Principal) -> Incident:
        with db.session() as s:
            return service.transition_incident(
                s, incident_id=row.id, actor=actor, step=Transition(to=to, expected_version=version)
            )

    with pytest.raises(Conflict, match="draft to validated"):
        step("validated", 1, commander)
    with pytest.raises(Forbidden):
        step("validated", 1, duty)  # a duty officer cannot validate
    assert step("submitted", 1, duty).status == "submitted"
    assert step("validated", 2, commander).status == "validated"
    # Editing a validated record sends it back for validation.
    with db.session() as s:
        edited = service.update_incident(
            s,
            incident_id=row.id,
            actor=duty,
            profile=profile,
            patch=IncidentPatch(expected_version=3, narrative="Corrected."),
        )
    assert (edited.status, edited.version) == ("submitted", 4)
    assert step("validated", 4, commander).status == "validated"
    assert step("closed", 5, commander).status == "closed"
    with pytest.raises(Conflict, match="closed"), db.session() as s:
        service.update_incident(
            s,
            incident_id=row.id,
            actor=duty,
            profile=profile,
            patch=IncidentPatch(expected_version=6, narrative="Too late"),
        )
    with db.session() as s:
        ops = [v.op for v in service.list_versions(s, incident_id=row.id)]
        assert verify_audit(s).ok
    assert ops == [
        "create",
        "status:submitted",
        "status:validated",
        "update",
        "status:validated",
        "status:closed",
    ]


def test_analyst_cannot_record(db: Database, profile: BorderProfile) -> None:
    with pytest.raises(Forbidden), db.session() as s:
        service.create_incident(
            s, data=incident(), actor=Principal("a", Role.ANALYST), profile=profile
        )


def test_unknown_reporting_side_names_the_field(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    with pytest.raises(InvalidInput) as exc, db.session() as s:
        service.create_incident(s, data=incident(reporting_side="AF"), actor=duty, profile=profile)
    assert exc.value.errors[0].field == "reporting_side"
    with db.session() as s:
        assert s.scalar(select(Incident)) is None


def test_missing_incident(db: Database) -> None:
    with pytest.raises(NotFound), db.session() as s:
        service.get_incident(s, incident_id="nope")


def test_list_filters_and_keyset_pages(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    same_time = start + timedelta(days=3)
    ids = []
    for i in range(7):
        # Three incidents share one timestamp: paging must neither skip nor repeat them.
        at = same_time if i in (2, 3, 4) else start + timedelta(days=i)
        cat = "smuggling_fuel" if i % 2 else "armed_attack"
        lon, lat = (61.44959, 29.0148) if i == 6 else TAFTAN
        ids.append(
            create(
                db,
                profile,
                duty,
                occurred_at=at.isoformat(),
                category=cat,
                location={"lon": lon, "lat": lat},
            ).id
        )
    pages, cursor = [], None
    with db.session() as s:
        while True:
            rows, cursor = service.list_incidents(
                s, filters=service.IncidentFilter(), limit=2, cursor=cursor
            )
            pages.append([r.id for r in rows])
            if cursor is None:
                break
        seen = [i for p in pages for i in p]
        assert sorted(seen) == sorted(ids) and len(seen) == 7
        times = [service.get_incident(s, incident_id=i).occurred_at for i in seen]
        assert times == sorted(times, reverse=True)
        fuel, _ = service.list_incidents(
            s, filters=service.IncidentFilter(categories=["smuggling_fuel"])
        )
        assert {r.category for r in fuel} == {"smuggling_fuel"} and len(fuel) == 3
        ir, _ = service.list_incidents(s, filters=service.IncidentFilter(sides=["IR"]))
        assert [r.id for r in ir] == [ids[6]]
        window, _ = service.list_incidents(
            s, filters=service.IncidentFilter(since=start + timedelta(days=1), until=same_time)
        )
        assert [r.id for r in window] == [ids[1]]
        box, _ = service.list_incidents(
            s, filters=service.IncidentFilter(bbox=(61.4, 29.0, 61.5, 29.1))
        )
        assert [r.id for r in box] == [ids[6]]
        sector = profile.locate(*TAFTAN).sector
        by_sector, _ = service.list_incidents(s, filters=service.IncidentFilter(sectors=[sector]))
        same = profile.locate(61.44959, 29.0148).sector == sector
        assert len(by_sector) == 6 + same


def test_bad_cursor_is_an_input_error(db: Database) -> None:
    with pytest.raises(InvalidInput, match="cursor"), db.session() as s:
        service.list_incidents(s, filters=service.IncidentFilter(), cursor="garbage!!")


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"location": {"lon": 61.5, "lat": 91}}, "location.lat"),
        ({"category": "smugling"}, "category"),
        ({"seizures": [{"commodity": "diesel", "quantity": 10, "unit": "rounds"}]}, "seizures.0"),
        ({"casualties": {"civilians": {"killed": -1}}}, "casualties.civilians.killed"),
        ({"grading": {"source_reliability": "G"}}, "grading.source_reliability"),
        ({"occurred_at": "2026-11-20T14:30:00"}, "occurred_at"),
        ({"informant_name": "x"}, "informant_name"),
    ],
)
def test_schema_rejects_bad_input_naming_the_field(over: dict[str, object], field: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        incident(**over)
    assert any(".".join(str(p) for p in e["loc"]).startswith(field) for e in exc.value.errors())


def test_no_field_identifies_a_person() -> None:
    """The data model holds events, places and counts: no name/person field anywhere."""
    columns = {c.name for c in Incident.__table__.columns}
    words = ("person", "name", "suspect", "informant", "passport", "cnic", "phone", "victim")
    assert not [c for c in columns if any(w in c for w in words)]
    schema = str(IncidentIn.model_json_schema())
    assert not any(f"'{w}" in schema for w in ("person", "suspect", "informant", "cnic"))
