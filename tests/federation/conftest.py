"""Two (or three) real nodes on loopback that know each other as partners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from sarhad.core.auth import CONSOLE
from sarhad.core.db import get_node_id
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn, PartnerUpdate
from support import LiveNode


def introduce(
    a: LiveNode, b: LiveNode, *, terms_a: dict | None = None, terms_b: dict | None = None
) -> None:
    """Make a and b partners of each other, as two liaison offices would by exchanging tokens."""
    a_name, b_name = a.settings.node_name, b.settings.node_name
    with a.db.session() as s:
        a_id = get_node_id(s)
    with b.db.session() as s:
        b_id = get_node_id(s)
    with a.db.session() as s:
        _, token_for_b = sharing.add_partner(
            s,
            name=b_name,
            country=b.settings.node_side,
            taxii_url=f"{b.url}/taxii2/api/",
            node_id=b_id,
            actor=CONSOLE,
        )
        if terms_a:
            sharing.set_agreement(s, partner=b_name, changes=AgreementIn(**terms_a), actor=CONSOLE)
    with b.db.session() as s:
        _, token_for_a = sharing.add_partner(
            s,
            name=a_name,
            country=a.settings.node_side,
            taxii_url=f"{a.url}/taxii2/api/",
            remote_token=token_for_b,
            node_id=a_id,
            actor=CONSOLE,
        )
        if terms_b:
            sharing.set_agreement(s, partner=a_name, changes=AgreementIn(**terms_b), actor=CONSOLE)
    with a.db.session() as s:
        sharing.update_partner(
            s, name=b_name, changes=PartnerUpdate(remote_token=token_for_a), actor=CONSOLE
        )


@dataclass
class Pair:
    pk: LiveNode
    ir: LiveNode


@pytest.fixture
def pair(spawn: Callable[..., LiveNode]) -> Pair:
    pk, ir = spawn("pk-node", "PK"), spawn("ir-node", "IR")
    introduce(pk, ir)
    return Pair(pk=pk, ir=ir)
