"""Helpers of the web console tests: a password, sign-in as a browser does, the CSRF token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from sarhad.border import load_profile
from sarhad.core.auth import Role
from sarhad.crossings.received import InboundDeclaration, receive_declaration
from support import LiveNode

PASSWORD = "correct horse battery"


def username(role: Role) -> str:
    return f"{role.value}-1"


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found, "page has no csrf-token meta tag"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    """Fill in and send the sign-in form as a browser would."""
    form = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    return client.post(
        "/signin",
        data={"username": name, "password": password, "csrf_token": token.group(1), "next": "/"},
    )


def partner_says_open(node: LiveNode, *, declaration_id: str, hours_ago: float) -> None:
    """Store Iran's declaration that Taftan–Mirjaveh is open, as if it came over federation."""
    now = datetime.now(UTC)
    with node.db.session() as s:
        receive_declaration(
            s,
            data=InboundDeclaration(
                id=declaration_id, crossing_id="taftan-mirjaveh", side="IR", status="open",
                reason="other", note=None, starts_at=now - timedelta(hours=hours_ago),
                ends_at=None, planned=False, incident_ids=(), tlp="green", withdrawn=False,
                version=1, created_at=now, modified=now,
            ),
            partner_name="ir-node", partner_node_id=None, partner_side="IR",
            profile=load_profile(),
        )  # fmt: skip
