"""Property: whatever the incidents and the agreement, no withheld field and no TLP:RED record
appears in any response body a partner's token can obtain from our TAXII server."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sarhad.core.auth import CONSOLE, issue_token
from sarhad.core.markings import TLP
from sarhad.federation.types.incident import EXTENSION_ID
from sarhad.incidents.taxonomy import Category
from sarhad.sharing import service as sharing
from sarhad.sharing.policy import WITHHOLDABLE
from sarhad.sharing.schemas import AgreementIn

from .conftest import Pair
from .helpers import record

MEDIA = "application/taxii+json;version=2.1"
SMUGGLING = {"smuggling_narcotics": "hashish", "smuggling_fuel": "diesel"}

incidents = st.lists(
    st.fixed_dictionaries(
        {
            "category": st.sampled_from(
                [
                    "armed_attack",
                    "smuggling_narcotics",
                    "smuggling_fuel",
                    "kidnapping",
                    "illegal_crossing",
                ]
            ),
            "tlp": st.sampled_from([t.value for t in TLP]),
            "status": st.sampled_from(["draft", "submitted", "validated", "closed"]),
            "lat": st.floats(25.3, 29.5),
        }
    ),
    min_size=1,
    max_size=4,
)
agreements = st.fixed_dictionaries(
    {
        "withheld_fields": st.lists(st.sampled_from(WITHHOLDABLE), unique=True),
        "max_tlp": st.sampled_from(["clear", "green", "amber", "amber+strict"]),
        "categories": st.one_of(
            st.just([]),
            st.lists(st.sampled_from([c.value for c in Category]), min_size=1, unique=True),
        ),
    }
)


def everything(client: httpx.Client) -> list[str]:
    """Every body the partner can get: collections, pages, manifests, each object, versions."""
    bodies = []
    cols = client.get("/api/collections/")
    bodies.append(cols.text)
    for col in cols.json()["collections"]:
        base = f"/api/collections/{col['id']}"
        bodies.append(client.get(f"{base}/").text)
        if not col["can_read"]:
            continue
        nxt: str | None = None
        ids = set()
        while True:
            page = client.get(
                f"{base}/objects/",
                params={"limit": 50, "match[version]": "all", **({"next": nxt} if nxt else {})},
            )
            bodies.append(page.text)
            body = page.json()
            ids |= {o["id"] for o in body["objects"]}
            if not body["more"]:
                break
            nxt = body["next"]
        bodies.append(client.get(f"{base}/manifest/", params={"limit": 1000}).text)
        for oid in ids:
            bodies.append(
                client.get(f"{base}/objects/{oid}/", params={"match[version]": "all"}).text
            )
            bodies.append(client.get(f"{base}/objects/{oid}/versions/").text)
    return bodies


# No shrinking phase: each example runs real HTTP; a failure prints its example as generated.
@settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(items=incidents, terms=agreements)
def test_no_withheld_field_or_red_record_reaches_the_partner(
    pair: Pair, items: list[dict[str, Any]], terms: dict[str, Any]
) -> None:
    with pair.pk.db.session() as s:
        sharing.set_agreement(s, partner="ir-node", changes=AgreementIn(**terms), actor=CONSOLE)
        token = issue_token(s, username="partner-ir-node", actor=CONSOLE.username)
    made = []
    for item in items:
        marks = {f: f"SECRET-{f}-{uuid.uuid4().hex[:12]}" for f in WITHHOLDABLE}
        commodity = SMUGGLING.get(item["category"])
        row = record(
            pair.pk,
            status=item["status"],
            category=item["category"],
            tlp=item["tlp"],
            location={"lon": 62.0, "lat": item["lat"], "place": marks["place"]},
            narrative=marks["narrative"],
            sources=[marks["sources"]],
            seizures=[
                {
                    "commodity": commodity,
                    "quantity": 77777.25,
                    "unit": "kg" if commodity == "hashish" else "l",
                }
            ]
            if commodity
            else [],
            grading={"source_reliability": "C", "information_credibility": "3"},
        )
        made.append((row, item, marks))
    with httpx.Client(
        base_url=f"{pair.pk.url}/taxii2",
        timeout=30,
        headers={"Authorization": f"Bearer {token}", "Accept": MEDIA},
    ) as client:
        bodies = everything(client)
    text = "\n".join(bodies)
    # The RED marking-definition object itself may be listed; nothing may be marked with it.
    stripped = re.sub(r'"id":\s*"' + TLP.RED.stix_id + '"', "", text)
    where = stripped.find(TLP.RED.stix_id)
    assert where < 0, stripped[max(0, where - 300) : where + 100]  # only its definition
    served: dict[str, list[dict]] = {}
    for body in bodies:
        data = json.loads(body)
        for obj in data.get("objects", []) if isinstance(data, dict) else []:
            if isinstance(obj, dict) and obj.get("type") == "incident":
                served.setdefault(obj["id"], []).append(obj)
    for row, item, marks in made:
        if item["tlp"] == "red":
            assert row.id not in text, "a TLP:RED record reached the partner"
        for field in terms["withheld_fields"]:
            assert marks[field] not in text, f"withheld {field} reached the partner"
        for obj in served.get(f"incident--{row.id}", []):
            ext = obj["extensions"][EXTENSION_ID]
            for field in terms["withheld_fields"]:
                key = {"narrative": "description", "sources": "external_references"}.get(field)
                assert (key or field) not in (obj if key else ext), f"{field} served"
