"""Articles in, candidates grouped, reviewed by an analyst (service, API, CLI)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from sarhad.border import BorderProfile
from sarhad.cli import app
from sarhad.core.auth import Principal, Role
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.core.errors import Conflict, InvalidInput
from sarhad.core.journal import AuditLog
from sarhad.crossings.models import Declaration
from sarhad.incidents.models import Incident
from sarhad.intake import service
from sarhad.intake.models import InventedNumber, NewsArticle, NewsCandidate
from support import LiveNode

ANALYST = Principal("analyst-1", Role.ANALYST)  # reads news in
DUTY = Principal("duty-1", Role.DUTY_OFFICER)  # decides (accepting writes an incident)

DAWN = (
    "QUETTA: Two Levies personnel were martyred when gunmen ambushed a checkpost in Washuk "
    "district late on Sunday, officials said. The attackers fled towards the hills."
)
TRIBUNE = (
    "Unidentified armed men attacked a Levies checkpost in Washuk late Sunday night, killing "
    "two personnel, the provincial home department confirmed on Monday."
)
NEWS = (
    "WASHUK: Gunmen attacked a Levies post in Washuk district on Sunday night, killing two "
    "personnel, a spokesman said."
)


def add(session, text: str, outlet: str = "Dawn", title: str = "Levies post attacked"):
    return service.add_article(
        session,
        title=title,
        outlet=outlet,
        published=date(2026, 3, 17),
        text=text,
        url=f"https://example.invalid/{outlet.replace(' ', '-').lower()}",
        actor=ANALYST,
    )


def test_three_articles_about_one_event_make_one_candidate_with_three_sources(
    db: Database,
) -> None:
    with db.session() as s:
        first = add(s, DAWN)
        second = add(s, TRIBUNE, "The Express Tribune")
        third = add(s, NEWS, "The News")
        again = add(s, " ".join(DAWN.split()), "Dawn")  # the same text read twice
    assert len(first.created) == 1 and second.joined == first.created == third.joined
    assert again.duplicate and again.article_id == first.article_id
    with db.session() as s:
        (row,) = service.list_candidates(s)
        view = service.view(s, row)
        assert s.scalar(select(func.count()).select_from(NewsArticle)) == 3
        assert s.scalar(select(func.count()).select_from(AuditLog)) >= 6  # every write audited
    assert [x["outlet"] for x in view["sources"]] == ["Dawn", "The Express Tribune", "The News"]
    assert view["category"] == "armed_attack" and view["district"] == "Washuk"
    assert view["date"] == "2026-03-15" and view["counts"][0]["best"] == 2
    start, end = view["sources"][0]["sentences"][0]
    assert DAWN[start:end].startswith("QUETTA: Two Levies personnel were martyred")


def test_accept_makes_a_draft_incident_sourced_to_every_article(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        cid = add(s, DAWN).created[0]
        add(s, TRIBUNE, "The Express Tribune")
    with db.session() as s:
        row = service.accept(s, candidate_id=cid, actor=DUTY, profile=profile, node_side="PK")
        incident = s.get(Incident, row.incident_id)
        assert incident is not None and incident.status == "draft"
        assert (incident.category, incident.sf_killed, incident.date_precision) == (
            "armed_attack",
            2,
            "day",
        )
        assert incident.occurred_at.date() == date(2026, 3, 15)
        assert len(incident.sources) == 2 and "Dawn, 2026-03-17" in incident.sources[0]
    with db.session() as s, pytest.raises(Conflict):
        service.accept(s, candidate_id=cid, actor=DUTY, profile=profile, node_side="PK")


def test_reject_needs_a_reason_and_a_candidate_matching_an_incident_is_offered_as_a_link(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        cid = add(s, DAWN).created[0]
    with db.session() as s:
        service.accept(s, candidate_id=cid, actor=DUTY, profile=profile, node_side="PK")
    # the same event reported again later: offered as the incident already recorded
    with db.session() as s:
        other = add(s, NEWS, "The News").created[0]
        links = service.view(s, service.get_candidate(s, candidate_id=other))["links"]
    assert len(links) == 1 and links[0]["incident_id"]
    with db.session() as s, pytest.raises(InvalidInput) as e:
        service.reject(s, candidate_id=other, reason=" ", actor=DUTY)
    assert e.value.errors[0].field == "reason"
    with db.session() as s:
        row = service.reject(s, candidate_id=other, reason="already recorded", actor=DUTY)
        assert (row.status, row.reason) == ("rejected", "already recorded")


def test_the_database_refuses_a_candidate_whose_number_is_not_in_its_sentence(
    db: Database,
) -> None:
    with db.session() as s:
        cid = add(s, DAWN).created[0]
    with pytest.raises(InventedNumber), db.session() as s:
        row = s.get(NewsCandidate, cid)
        assert row is not None
        row.counts = [{**row.counts[0], "best": 3}]  # "Two ... were martyred": 3 is invented
        s.flush()


def test_api_needs_a_writer_and_names_the_bad_field(live: LiveNode) -> None:
    body = {"title": "Levies post attacked", "outlet": "Dawn", "published": "2026-03-17",
            "text": DAWN}  # fmt: skip
    with live.client(Role.ANALYST) as c:
        bad = c.post("/api/v1/news/articles", json={**body, "published": "17/03/2026"})
        assert bad.status_code == 422 and "published" in bad.text
        short = c.post("/api/v1/news/articles", json={**body, "text": "too short"})
        assert short.status_code == 422 and "text" in short.text
        url = c.post("/api/v1/news/articles", json={**body, "url": "javascript:alert(1)"})
        assert url.status_code == 422 and "url" in url.text
        extra = c.post("/api/v1/news/articles", json={**body, "author": "Nadeem Ahmed"})
        assert extra.status_code == 422 and "author" in extra.text
        r = c.post("/api/v1/news/articles", json=body)
        assert r.status_code == 201, r.text
        diesel = "Levies seized 2,000 litres of smuggled diesel near Jiwani on Monday."
        tiny = c.post("/api/v1/news/articles", json={**body, "title": "t", "text": diesel})
        assert tiny.status_code == 201 and len(tiny.json()["created"]) == 1
        queue = c.get("/api/v1/news/candidates").json()
        cid = queue[0]["id"]
        assert c.post(f"/api/v1/news/candidates/{cid}/accept").status_code == 403
    with live.client(Role.DUTY_OFFICER) as c:
        assert c.get("/api/v1/news/candidates/nope").status_code == 404
        assert c.get("/api/v1/news/candidates?status=maybe").status_code == 422
        no_reason = c.post(f"/api/v1/news/candidates/{cid}/reject", json={})
        assert no_reason.status_code == 422 and "reason" in no_reason.text
        ok = c.post(f"/api/v1/news/candidates/{cid}/accept")
        assert ok.status_code == 200 and ok.json()["incident_id"]
        again = c.post(f"/api/v1/news/candidates/{cid}/accept")
        assert again.status_code == 409
        other = c.get("/api/v1/news/candidates").json()
        assert [x["sources"][0]["title"] for x in other] == ["t"]
        short_title = c.post(f"/api/v1/news/candidates/{other[0]['id']}/accept")
        assert short_title.status_code == 422 and "incident.title" in short_title.text
    with live.client(role=None) as c:
        assert c.get("/api/v1/news/candidates").status_code == 401


def test_cli_add_queue_show_accept(tmp_path, settings: Settings, db: Database) -> None:
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url or "",
        "SARHAD_NODE_SIDE": "PK",
    }
    plain = tmp_path / "dawn.txt"
    plain.write_text("Levies post attacked in Washuk\n" + DAWN, encoding="utf-8")
    page = tmp_path / "tribune.html"
    page.write_text(
        f"<html><head><title>x</title><script>var a=1;</script></head><body><h1>Washuk "
        f"attack</h1><p>{TRIBUNE}</p></body></html>",
        encoding="utf-8",
    )

    def run(*args: str):
        r = CliRunner().invoke(app, list(args), env=env)
        assert r.exit_code == 0, r.output
        return r.output

    assert "1 new candidate" in run("news", "add", str(plain), "--outlet", "Dawn",
                                    "--published", "2026-03-17")  # fmt: skip
    assert "1 already proposed" in run("news", "add", str(page), "--outlet", "Tribune",
                                       "--published", "2026-03-17")  # fmt: skip
    missing = CliRunner().invoke(app, ["news", "add", str(plain)], env=env)
    assert missing.exit_code != 0 and "published" in missing.output
    queue = run("news", "queue")
    assert "armed_attack" in queue and "Washuk" in queue
    with db.session() as s:
        cid = s.scalars(select(NewsCandidate.id)).one()
        assert s.scalar(select(NewsArticle.text).where(NewsArticle.outlet == "Tribune")) == TRIBUNE
    assert "Two Levies personnel were martyred" in run("news", "show", cid[:8])
    assert "draft incident" in run("news", "accept", cid[:8])


TAFTAN_CLOSED = (
    "TAFTAN: The Pak-Iran border crossing at Taftan was closed for all trade on Monday on the "
    "orders of the provincial government, officials said."
)
MIRJAVEH_CLOSED = (
    "ZAHEDAN – Iranian authorities closed the Mirjaveh border crossing to trucks on Sunday "
    "for maintenance of the terminal, officials said."
)


def test_accepting_a_crossing_candidate_declares_our_side_through_the_crossings_room(
    live: LiveNode,
) -> None:
    body = {"outlet": "Dawn", "published": "2026-03-17"}
    with live.client(Role.ANALYST) as c:
        ours = c.post(
            "/api/v1/news/articles",
            json={**body, "title": "Taftan crossing closed", "text": TAFTAN_CLOSED},
        )
        theirs = c.post(
            "/api/v1/news/articles",
            json={**body, "title": "Mirjaveh gate shut", "text": MIRJAVEH_CLOSED},
        )
        assert ours.status_code == theirs.status_code == 201, (ours.text, theirs.text)
        ours_id, theirs_id = ours.json()["created"][0], theirs.json()["created"][0]
        assert c.get(f"/api/v1/news/candidates/{ours_id}").json()["kind"] == "crossing"
    with live.client(Role.DUTY_OFFICER) as c:
        # an edited declaration for a crossing this border lacks names the field
        wrong = c.post(f"/api/v1/news/candidates/{ours_id}/accept", json={"incident": None,
                       "declaration": {"crossing": "nowhere", "status": "open"}})  # fmt: skip
        assert wrong.status_code == 422 and "crossing" in wrong.text
        # the partner's gate is the partner's to declare (this node is PK)
        other = c.post(f"/api/v1/news/candidates/{theirs_id}/accept")
        assert other.status_code == 422 and "side" in other.text
        ok = c.post(f"/api/v1/news/candidates/{ours_id}/accept")
        assert ok.status_code == 200, ok.text
        made = ok.json()
        assert made["status"] == "accepted" and made["incident_id"] is None
        declared = c.get("/api/v1/crossings/declarations?crossing=taftan-mirjaveh").json()
        assert [
            (d["id"], d["side"], d["status"], d["reason"], d["starts_at"][:16]) for d in declared
        ] == [(made["declaration_id"], "PK", "closed", "policy_decision", "2026-03-16T12:00")]
        assert c.post(f"/api/v1/news/candidates/{ours_id}/accept").status_code == 409


def test_cli_accepts_a_crossing_candidate_as_our_declaration(
    tmp_path, settings: Settings, db: Database
) -> None:
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url or "",
        "SARHAD_NODE_SIDE": "PK",
    }
    plain = tmp_path / "taftan.txt"
    plain.write_text("Taftan crossing closed\n" + TAFTAN_CLOSED, encoding="utf-8")
    added = CliRunner().invoke(
        app, ["news", "add", str(plain), "--outlet", "Dawn", "--published", "2026-03-17"], env=env
    )
    assert added.exit_code == 0, added.output
    with db.session() as s:
        cid = s.scalars(select(NewsCandidate.id)).one()
    r = CliRunner().invoke(app, ["news", "accept", cid[:8]], env=env)
    assert r.exit_code == 0 and "accepted: declaration" in r.output, r.output
    with db.session() as s:
        row = s.get(NewsCandidate, cid)
        assert row is not None
        made = s.get(Declaration, row.fields["declaration_id"])
        assert made is not None and (made.crossing_id, made.status) == ("taftan-mirjaveh", "closed")


def test_a_closure_and_the_reopening_next_day_stay_two_candidates(db: Database) -> None:
    with db.session() as s:
        closed = add(s, TAFTAN_CLOSED, title="Taftan crossing closed")
        reopened = add(
            s,
            "TAFTAN: The Pak-Iran border crossing at Taftan was reopened for trade late on Monday, "
            "officials said.",
            "The News",
            title="Taftan crossing reopens",
        )
    assert len(closed.created) == len(reopened.created) == 1 and not reopened.joined
