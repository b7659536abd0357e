"""The links panel of an incident page: best candidate, confirm, undo, link by hand."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, Role
from sarhad.core.db import lock_writes
from sarhad.incidents import links, service
from sarhad.incidents.schemas import IncidentIn
from support import LiveNode
from web.helpers import csrf_of

# The panel reads pages: once, on SQLite (the service below it runs on both databases).
pytestmark = pytest.mark.once_on("sqlite")

PROFILE = load_profile()
DATA: dict[str, Any] = {
    "title": "Opium seized at Taftan",
    "category": "smuggling_narcotics",
    "occurred_at": "2026-11-20T10:00:00Z",
    "location": {"lon": 61.595, "lat": 28.96, "precision": "exact"},
    "reporting_side": "PK",
    "seizures": [{"commodity": "opium", "quantity": 40, "unit": "kg"}],
}


def _records(node: LiveNode) -> tuple[str, str]:
    with node.db.session() as s:
        ours = service.create_incident(
            s, data=IncidentIn.model_validate(DATA), actor=CONSOLE, profile=PROFILE
        ).id
    theirs = str(uuid.uuid4())
    with node.db.session() as s:
        lock_writes(s)
        service.store_received(
            s,
            record_id=theirs,
            data=IncidentIn.model_validate(
                {**DATA, "title": "Narcotics (IR)", "reporting_side": "IR"}
            ),
            version=1,
            status="validated",
            remote_modified=service.utcnow(),
            origin_node_id=str(uuid.UUID(int=7)),
            origin="partner:ir-node",
            withheld=[],
            revoked=False,
            profile=PROFILE,
        )
        links.propose(s, incident_ids=[theirs])
    return ours, theirs


def _post(client: Any, page: str, action: str, **fields: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields})


def test_an_officer_confirms_the_best_candidate_undoes_it_and_links_by_hand(
    web: LiveNode, browser: Any
) -> None:
    ours, _theirs = _records(web)
    page = f"/incidents/{ours}"
    liaison = browser(Role.LIAISON)
    html = liaison.get(page).text
    best = re.search(r'data-link="([0-9a-f-]{36})" data-status="suggested" data-kind="best"', html)
    assert best and "Narcotics (IR)" in html
    done = _post(liaison, page, f"/incidents/{ours}/links/{best.group(1)}/confirm")
    assert done.status_code == 303
    html = liaison.get(page).text
    assert 'data-status="confirmed" data-kind="confirmed"' in html
    assert 'data-action="undo"' in html
    _post(liaison, page, f"/incidents/{ours}/links/{best.group(1)}/undo")
    assert 'data-kind="best"' in liaison.get(page).text
    # By hand: a wrong id comes back as a notice, not a 500.
    bad = _post(liaison, page, f"/incidents/{ours}/links", other_id=ours)
    assert bad.status_code == 303
    shown = liaison.get(bad.headers["location"]).text
    assert "cannot be linked" in shown
    urdu = liaison.get(bad.headers["location"].split("#")[0] + "&lang=ur").text
    assert "جوڑے نہیں جا سکتے" in urdu
    # A duty officer sees the panel but no forms.
    duty = browser(Role.DUTY_OFFICER)
    html = duty.get(page).text
    assert 'id="links"' in html and "data-action=" not in html
