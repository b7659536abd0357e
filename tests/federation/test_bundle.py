"""Air-gapped partners: a signed bundle file, verified before anything is ingested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sarhad.core.auth import CONSOLE
from sarhad.core.errors import InvalidInput
from sarhad.federation.service import export_bundle_file, import_bundle_file
from sarhad.incidents.models import Incident
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring
from sarhad.sharing.schemas import PartnerUpdate

from .conftest import Pair
from .helpers import PROFILE, get, record


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
