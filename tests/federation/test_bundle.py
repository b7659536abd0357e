"""Air-gapped partners: a signed bundle file, verified before anything is ingested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sarhad.core.auth import CONSOLE
from sarhad.core.db import utcnow
from sarhad.core.errors import InvalidInput
from sarhad.core.signing import new_ring, rotate
from sarhad.federation.service import export_bundle_file, import_bundle_file
from sarhad.incidents.models import Incident
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring, partner_keys_out, revoke_key, rotate_own
from sarhad.sharing.schemas import PartnerUpdate

from .conftest import Pair
from .helpers import PROFILE, get, record, unkeyed


def register_key(pair: Pair) -> None:
    pem = own_ring(pair.pk.settings.data_dir).active.public.pem
    with pair.ir.db.session() as s:
        sharing.update_partner(
            s, name="pk-node", changes=PartnerUpdate(public_key_pem=pem), actor=CONSOLE
        )


def export(pair: Pair, tmp_path: Path) -> Path:
    path = tmp_path / "pk-to-ir.sarhad.json"
    export_bundle_file(pair.pk.db, settings=pair.pk.settings, partner="ir-node", path=path)
    return path


def test_bundle_round_trip(pair: Pair, tmp_path: Path) -> None:
    shared, red = record(pair.pk), record(pair.pk, tlp="red")
    register_key(pair)
    path = export(pair, tmp_path)
    assert "informant report" not in path.read_text()  # withheld sources never reach the file
    report = import_bundle_file(
        pair.ir.db, settings=pair.ir.settings, profile=PROFILE, partner="pk-node", path=path
    )
    assert report.rejected == []
    assert get(pair.ir, shared.id) is not None and get(pair.ir, red.id) is None
    again = import_bundle_file(
        pair.ir.db, settings=pair.ir.settings, profile=PROFILE, partner="pk-node", path=path
    )
    assert again.accepted == []
    with pair.ir.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1


def test_tampered_or_foreign_bundles_are_refused(pair: Pair, tmp_path: Path) -> None:
    unkeyed(pair.ir, "pk-node")  # agreed without exchanging keys
    record(pair.pk)
    path = export(pair, tmp_path)
    with pytest.raises(InvalidInput, match="no public key"):
        import_bundle_file(
            pair.ir.db, settings=pair.ir.settings, profile=PROFILE, partner="pk-node", path=path
        )
    register_key(pair)
    doc = json.loads(path.read_text())
    doc["bundle"]["objects"][-1]["name"] = "altered"
    (tmp_path / "altered.json").write_text(json.dumps(doc))
    with pytest.raises(InvalidInput, match="altered in transit"):
        import_bundle_file(
            pair.ir.db,
            settings=pair.ir.settings,
            profile=PROFILE,
            partner="pk-node",
            path=tmp_path / "altered.json",
        )
    doc = json.loads(path.read_text())
    doc["header"]["to"] = "someone-else"
    (tmp_path / "resigned.json").write_text(json.dumps(doc))
    with pytest.raises(InvalidInput, match="signature does not match"):
        import_bundle_file(
            pair.ir.db,
            settings=pair.ir.settings,
            profile=PROFILE,
            partner="pk-node",
            path=tmp_path / "resigned.json",
        )
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="not a readable bundle"):
        import_bundle_file(
            pair.ir.db,
            settings=pair.ir.settings,
            profile=PROFILE,
            partner="pk-node",
            path=tmp_path / "junk.json",
        )
    with pair.ir.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0  # nothing half-written


def _import(pair: Pair, path: Path):
    return import_bundle_file(
        pair.ir.db, settings=pair.ir.settings, profile=PROFILE, partner="pk-node", path=path
    )


def test_bundles_signed_after_rotations_verify_with_the_announced_keys(
    pair: Pair, tmp_path: Path
) -> None:
    first = own_ring(pair.pk.settings.data_dir).active.public
    register_key(pair)  # the receiving node knows the first key only
    with pair.pk.db.session() as s:
        rotate_own(s, data_dir=pair.pk.settings.data_dir, actor=CONSOLE)
    with pair.pk.db.session() as s:
        ring = rotate_own(s, data_dir=pair.pk.settings.data_dir, actor=CONSOLE)
    shared = record(pair.pk)
    path = export(pair, tmp_path)
    doc = json.loads(path.read_text())
    assert doc["header"]["signature"]["key_id"] == ring.active.public.key_id
    assert len(doc["key_announcements"]) == 2
    report = _import(pair, path)
    assert report.rejected == [] and get(pair.ir, shared.id) is not None
    with pair.ir.db.session() as s:
        pk = sharing.get_partner(s, name="pk-node")
        learned = {k.key_id: k for k in partner_keys_out(s, pk, now=utcnow())}
    assert set(learned) == {k.key_id for k in ring.keys}
    assert learned[first.key_id].source == "registered"
    assert learned[ring.active.public.key_id].source == "announcement"
    assert learned[ring.active.public.key_id].fingerprint == ring.active.public.fingerprint


def test_a_bundle_whose_key_announcement_is_forged_or_whose_key_is_revoked_is_refused(
    pair: Pair, tmp_path: Path
) -> None:
    record(pair.pk)
    register_key(pair)
    first = own_ring(pair.pk.settings.data_dir).active.public
    with pair.pk.db.session() as s:
        rotate_own(s, data_dir=pair.pk.settings.data_dir, actor=CONSOLE)
    doc = json.loads(export(pair, tmp_path).read_text())
    # someone on the way swaps the announcement for one of their own making
    stranger = rotate(
        new_ring(now=utcnow()), node_id=doc["header"]["from"]["node_id"], now=utcnow()
    )
    doc["key_announcements"] = list(stranger.announcements)
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    with pytest.raises(InvalidInput, match="not pk-node's") as exc:
        _import(pair, tmp_path / "forged.json")
    assert "sarhad keys trust --partner pk-node" in (exc.value.hint or "")
    with pair.ir.db.session() as s:  # nothing was learned from the refused file
        pk = sharing.get_partner(s, name="pk-node")
        assert [k.key_id for k in partner_keys_out(s, pk, now=utcnow())] == [first.key_id]

    # the receiving node learns that pk-node's first key was compromised: nothing signed by
    # it (announcements included) is trusted, so the new key is not learned from it either
    with pair.ir.db.session() as s:
        revoke_key(s, key_id=first.key_id, reason="compromised", actor=CONSOLE)
    with pytest.raises(InvalidInput, match="not pk-node's"):
        _import(pair, export(pair, tmp_path))
    with pair.ir.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_bundle_signed_by_a_key_revoked_as_compromised_is_refused(
    pair: Pair, tmp_path: Path
) -> None:
    record(pair.pk)
    register_key(pair)
    path = export(pair, tmp_path)
    with pair.ir.db.session() as s:
        key_id = own_ring(pair.pk.settings.data_dir).active.public.key_id
        revoke_key(s, key_id=key_id, reason="compromised", actor=CONSOLE)
    with pytest.raises(InvalidInput, match=r"revoked key: .* compromised"):
        _import(pair, path)
