"""Partner and agreement service on a real database: accounts, audit, versions, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Principal, Role, authenticate
from sarhad.core.db import Database
from sarhad.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from sarhad.core.journal import AuditLog, ChangeLog, verify_audit
from sarhad.core.markings import TLP
from sarhad.incidents import service as incidents
from sarhad.incidents.schemas import IncidentIn, Transition
from sarhad.incidents.taxonomy import Status
from sarhad.sharing import service
from sarhad.sharing.preview import preview
from sarhad.sharing.schemas import AgreementIn, PartnerUpdate

LIAISON = Principal("mirjaveh-liaison", Role.LIAISON)
IR_NODE = "7d3c1a52-5a43-4b8e-9a53-6a2f0c1d9e11"
# An Ed25519 public key (RFC 8032 test vector 1) in PEM.
ED25519_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n"
)


def add_ir(db: Database, **extra: object) -> str:
    with db.session() as s:
        _, token = service.add_partner(s, name="ir-node", country="IR", actor=LIAISON, **extra)
    return token


def test_add_partner_makes_an_account_a_token_and_a_default_agreement(db: Database) -> None:
    token = add_ir(db, taxii_url="https://ir.example/taxii2/api/", node_id=IR_NODE)
    with db.session() as s:
        principal = authenticate(s, token)
        assert (principal.username, principal.role) == ("partner-ir-node", Role.PARTNER)
        partner = service.partner_for_account(s, username="partner-ir-node")
        assert partner.name == "ir-node" and partner.node_id == IR_NODE
        shown = service.partner_out(s, partner)
        assert shown.remote_token_set is False and shown.account == "partner-ir-node"
        terms = service.terms_for(s, partner="ir-node")
    assert terms.version == 1 and terms.partner_node_id == IR_NODE
    assert terms.statuses == {"validated", "closed"} and terms.max_tlp is TLP.AMBER
    assert terms.withheld_fields == {"sources"} and terms.release_delay_hours == 0
    assert terms.expires_at is None and terms.forward_third_party is False
    assert terms.categories == frozenset() and terms.sectors == frozenset()


def test_every_change_is_in_the_change_log_and_the_audit_log(db: Database) -> None:
    add_ir(db)
    with db.session() as s:
        service.set_agreement(
            s, partner="ir-node", changes=AgreementIn(release_delay_hours=6), actor=LIAISON
        )
        service.update_partner(
            s, name="ir-node", changes=PartnerUpdate(remote_token="their-secret"), actor=LIAISON
        )
    with db.session() as s:
        actions = [a for a in s.scalars(select(AuditLog.action).order_by(AuditLog.seq))]
        changes = s.execute(select(ChangeLog.entity, ChangeLog.op, ChangeLog.version)).all()
        details = [a.detail for a in s.scalars(select(AuditLog))]
        assert verify_audit(s).ok
    assert actions == [
        "user.add",
        "token.issue",
        "partner.create",
        "agreement.create",
        "agreement.update",
        "partner.update",
    ]
    assert sorted(changes) == [
        ("agreement", "create", 1),
        ("agreement", "update", 2),
        ("partner", "create", 1),
        ("partner", "update", 2),
    ]
    assert "their-secret" not in str(details)  # the token we hold for them is never logged
    update = next(d for d in details if d.get("changed") == ["release_delay_hours"])
    assert update["terms"]["release_delay_hours"] == 6 and update["partner"] == "ir-node"


def test_set_agreement_bumps_the_version_only_when_something_changes(
    db: Database, profile: BorderProfile
) -> None:
    add_ir(db)
    changes = AgreementIn(
        categories=["smuggling_fuel", "smuggling_fuel", "armed_clash"],
        sectors=["PKIR-002", "PKIR-001"],
        max_tlp="amber+strict",
        withheld_fields=["narrative", "sources"],
        expires_at=datetime(2027, 1, 1, 5, 30, tzinfo=UTC) + timedelta(hours=0),
        forward_third_party=True,
    )
    with db.session() as s:
        a = service.set_agreement(
            s, partner="ir-node", changes=changes, actor=LIAISON, profile=profile
        )
        assert a.version == 2
        again = service.set_agreement(
            s, partner="ir-node", changes=changes, actor=LIAISON, profile=profile
        )
        assert again.version == 2  # nothing new: no new version
        out = service.agreement_out(again, service.get_partner(s, name="ir-node"))
    assert out.categories == ["armed_clash", "smuggling_fuel"]
    assert out.sectors == ["PKIR-001", "PKIR-002"]
    assert out.withheld_fields == ["narrative", "sources"]
    with db.session() as s:
        a = service.set_agreement(
            s, partner="ir-node", changes=AgreementIn(expires_at=None), actor=LIAISON
        )
        assert a.version == 3 and a.expires_at is None
        assert service.terms_for(s, partner="ir-node").max_tlp is TLP.AMBER_STRICT


def test_red_casualties_and_unknown_names_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="TLP:RED never leaves the node") as red:
        AgreementIn(max_tlp="red")
    assert red.value.errors()[0]["loc"] == ("max_tlp",)
    with pytest.raises(ValidationError, match="civilian harm is always reported"):
        AgreementIn(withheld_fields=["casualties"])
    with pytest.raises(ValidationError, match="cannot be withheld"):
        AgreementIn(withheld_fields=["title"])
    with pytest.raises(ValidationError) as cat:
        AgreementIn(categories=["smuggling_fuel", "piracy"])
    assert cat.value.errors()[0]["loc"] == ("categories", 1)
    with pytest.raises(ValidationError, match="at least one status"):
        AgreementIn(statuses=[])
    with pytest.raises(ValidationError):
        AgreementIn(release_delay_hours=-1)


def test_unknown_sectors_are_refused_against_the_border_profile(
    db: Database, profile: BorderProfile
) -> None:
    add_ir(db)
    with db.session() as s, pytest.raises(InvalidInput) as exc:
        service.set_agreement(
            s,
            partner="ir-node",
            changes=AgreementIn(sectors=["PKIR-001", "PKIR-999"]),
            actor=LIAISON,
            profile=profile,
        )
    assert [e.field for e in exc.value.errors] == ["sectors.1"]
    assert "PKIR-999" in exc.value.message


def test_partner_input_is_checked(db: Database) -> None:
    cases = {
        "name": {"name": "IR Node", "country": "IR"},
        "country": {"name": "ir-node", "country": "iran"},
        "taxii_url": {"name": "ir-node", "country": "IR", "taxii_url": "ftp://x"},
        "public_key_pem": {"name": "ir-node", "country": "IR", "public_key_pem": "not a key"},
        "node_id": {"name": "ir-node", "country": "IR", "node_id": "node-7"},
    }
    with db.session() as s:
        for field, args in cases.items():
            with pytest.raises(InvalidInput) as exc:
                service.add_partner(s, **args, actor=LIAISON)
            assert exc.value.errors[0].field == field
    add_ir(db, public_key_pem=ED25519_PEM)
    with db.session() as s, pytest.raises(Conflict, match="exists already"):
        service.add_partner(s, name="ir-node", country="IR", actor=LIAISON)


def test_only_sharing_managers_may_change_anything(db: Database) -> None:
    add_ir(db)
    for role in (Role.DUTY_OFFICER, Role.ANALYST, Role.COMMANDER, Role.PARTNER):
        who = Principal("someone", role)
        with db.session() as s:
            with pytest.raises(Forbidden):
                service.add_partner(s, name="af-node", country="AF", actor=who)
            with pytest.raises(Forbidden):
                service.set_agreement(
                    s, partner="ir-node", changes=AgreementIn(max_tlp="green"), actor=who
                )
            with pytest.raises(Forbidden):
                service.update_partner(
                    s, name="ir-node", changes=PartnerUpdate(active=False), actor=who
                )


def test_deactivating_a_partner_stops_its_token(db: Database) -> None:
    token = add_ir(db)
    with db.session() as s:
        p = service.update_partner(
            s, name="ir-node", changes=PartnerUpdate(active=False), actor=LIAISON
        )
        assert p.active is False
    with db.session() as s, pytest.raises(Unauthorized):
        authenticate(s, token)
    with db.session() as s:
        service.update_partner(s, name="ir-node", changes=PartnerUpdate(active=True), actor=CONSOLE)
    with db.session() as s:
        assert authenticate(s, token).role is Role.PARTNER


def test_lookups_say_what_is_missing(db: Database) -> None:
    with db.session() as s:
        with pytest.raises(NotFound, match="no partner 'xx-node'") as exc:
            service.get_partner(s, name="xx-node")
        assert exc.value.hint and "partners list" in exc.value.hint
        with pytest.raises(NotFound):
            service.partner_for_account(s, username="console")
        assert service.list_partners(s) == []


def _incident(
    db: Database, profile: BorderProfile, *, tlp: str, hours_ago: float, validate: bool
) -> str:
    data = IncidentIn.model_validate(
        {
            "title": f"Fuel seized ({tlp})",
            "category": "smuggling_fuel",
            "occurred_at": datetime.now(UTC) - timedelta(hours=hours_ago),
            "location": {"lon": 61.6, "lat": 28.95, "place": "near Taftan"},
            "reporting_side": "PK",
            "tlp": tlp,
            "narrative": "seen from the tower",
            "sources": ["FC daily report"],
        }
    )
    with db.session() as s:
        row = incidents.create_incident(s, data=data, actor=CONSOLE, profile=profile)
        if validate:
            for to in (Status.SUBMITTED, Status.VALIDATED):
                step = Transition(to=to, expected_version=row.version)
                row = incidents.transition_incident(s, incident_id=row.id, step=step, actor=CONSOLE)
        return row.id


def test_preview_shows_what_goes_what_waits_and_why_not(
    db: Database, profile: BorderProfile
) -> None:
    add_ir(db)
    with db.session() as s:
        service.set_agreement(
            s,
            partner="ir-node",
            changes=AgreementIn(release_delay_hours=6, withheld_fields=["sources", "place"]),
            actor=LIAISON,
        )
    goes = _incident(db, profile, tlp="green", hours_ago=30, validate=True)
    waits = _incident(db, profile, tlp="amber", hours_ago=1, validate=True)
    red = _incident(db, profile, tlp="red", hours_ago=50, validate=True)
    draft = _incident(db, profile, tlp="clear", hours_ago=40, validate=False)
    with db.session() as s:
        result = preview(s, partner="ir-node", limit=10)
    by_id = {i.id: i for i in result.items}
    assert (result.shared, result.held, result.refused) == (1, 1, 2)
    assert result.agreement_version == 2
    shared = by_id[goes]
    assert shared.share and shared.withheld_fields == ["place", "sources"]
    assert shared.record is not None and "sources" not in shared.record
    assert "place" not in shared.record["location"] and "narrative" in shared.record
    assert by_id[waits].release_at is not None and by_id[waits].record is not None
    assert by_id[waits].reasons[0].startswith("held until")
    assert by_id[red].reasons == ["TLP:RED never leaves the node"] and by_id[red].record is None
    assert by_id[draft].reasons == ["status draft is not shared"]
