"""Federation and link routes for liaison officers and analysts, with the same roles as the CLI."""

from __future__ import annotations

from sarhad.core.auth import Role

from .conftest import Pair
from .helpers import record


def test_sync_status_quarantine_and_links_over_the_api(pair: Pair) -> None:
    ours = record(pair.ir, reporting_side="IR", location={"lon": 61.6, "lat": 28.95})
    theirs = record(pair.pk, occurred_at="2026-11-20T12:00:00Z")
    with pair.ir.client(Role.DUTY_OFFICER) as duty:
        assert duty.post("/api/v1/federation/sync").status_code == 403
        assert duty.get("/api/v1/federation/status").status_code == 403
    with pair.ir.client(Role.LIAISON) as liaison:
        synced = liaison.post("/api/v1/federation/sync", params={"partner": "pk-node"}).json()
        assert synced[0]["error"] is None and synced[0]["pulled"] >= 1
        status = liaison.get("/api/v1/federation/status").json()
        assert status[0]["partner"] == "pk-node" and status[0]["waiting"] == 0
        assert liaison.get("/api/v1/federation/quarantine").json() == []
        links = liaison.get("/api/v1/links", params={"status": "suggested"}).json()
        assert [(x["local_id"], x["remote_id"]) for x in links] == [(ours.id, theirs.id)]
    with pair.ir.client(Role.ANALYST) as analyst:
        done = analyst.post(f"/api/v1/links/{links[0]['id']}/reject")
        assert done.status_code == 200 and done.json()["status"] == "rejected"
        assert analyst.post(f"/api/v1/links/{links[0]['id']}/confirm").status_code == 409
    with pair.ir.client(Role.DUTY_OFFICER) as duty:
        assert duty.post(f"/api/v1/links/{links[0]['id']}/confirm").status_code == 403
        received = duty.get(f"/api/v1/incidents/{theirs.id}").json()
        assert received["origin"] == "partner:pk-node" and received["allowed_steps"] == []
        assert received["withheld_fields"] == ["sources"]
        edit = duty.patch(
            f"/api/v1/incidents/{theirs.id}", json={"expected_version": 1, "title": "Mine now"}
        )
        assert edit.status_code == 409 and "read-only" in edit.json()["error"]["message"]
    with pair.ir.client(Role.COMMANDER) as commander:
        assert commander.get(f"/api/v1/incidents/{theirs.id}").json()["allowed_steps"] == []
