"""Setting up a node: data folder, schema migrations, node identity, node key."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from sarhad.alerts import reading as alerts
from sarhad.alerts.ports import AlertPorts
from sarhad.analysis import service as analysis
from sarhad.analysis.report.ports import ReportPorts, Shared
from sarhad.analysis.risk import RiskParams
from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Permission
from sarhad.core.config import Settings
from sarhad.core.db import Database, NodeMeta, get_node_id, lock_writes, open_database, utcnow
from sarhad.core.errors import ConfigError
from sarhad.core.feed import FeedSource, FeedSources
from sarhad.core.i18n import message
from sarhad.core.idempotency import StoredReply
from sarhad.core.journal import audit
from sarhad.core.markings import TLP
from sarhad.core.sealing import PRIVATE_DIR, PRIVATE_FILE, restrict, seal_column, sealed_values
from sarhad.core.signing import LEGACY_KEY_FILE, RING_FILE, signing_keys
from sarhad.crossings import declarations as crossings
from sarhad.crossings.ports import CrossingPorts
from sarhad.federation.models import Collection, CollectionObject
from sarhad.federation.types import report as joint_reports
from sarhad.incidents import service as incidents
from sarhad.migrations import upgrade
from sarhad.patrols import service as patrols
from sarhad.patrols.planner import Notice
from sarhad.patrols.ports import PatrolPorts, RiskView
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner
from sarhad.web import i18n as web_i18n
from sarhad.web import labels as web_labels

log = logging.getLogger("sarhad.node")

#: Columns holding sealed values, and whether a clear value found there is to be sealed
#: (partner tokens stored by an older version are; a stored reply is sealed only if secret).
SEALED: tuple[tuple[InstrumentedAttribute[Any], bool], ...] = (
    (Partner.remote_token, True),
    (StoredReply.body, False),
)


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders made meanwhile are the node account's alone (umask 077)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _sqlite_path(settings: Settings) -> str | None:
    url = settings.effective_database_url
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return url.removeprefix("sqlite:///")


def _restrict_data(settings: Settings) -> None:
    """Give the data folder, database files and key files modes only the node can read."""
    data = settings.data_dir
    restrict([data, data / "keys"], mode=PRIVATE_DIR)
    files = [settings.node_key_path, data / RING_FILE, data / LEGACY_KEY_FILE]
    db_file = _sqlite_path(settings)
    if db_file is not None:
        files += [db_file + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    restrict([type(data)(f) for f in files], mode=PRIVATE_FILE)


def init_node(settings: Settings) -> Database:
    """Create the data folder, bring the schema to head, give the node its id and keys.

    Safe to run again (``serve`` runs it at every start): it upgrades the schema, tightens
    modes that are too open (with a warning), finishes a node-key rotation a crash cut short,
    seals partner tokens an older version stored in clear and takes an older version's
    bundle key into the signing key ring.
    """
    with private_files():
        settings.data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        db_file = _sqlite_path(settings)
        if db_file is not None and not os.path.exists(db_file):
            # Made here, mode 600, so SQLite (which gives -wal and -shm the mode of the
            # database file) never creates any of them readable by others.
            os.close(os.open(db_file, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
        _restrict_data(settings)
        db = open_database(settings)
        try:
            upgrade(db.engine)
            with db.session() as session:
                if session.get(NodeMeta, "node_id") is None:
                    session.add(NodeMeta(key="node_id", value=str(uuid.uuid4())))
                    session.add(NodeMeta(key="initialised_at", value=utcnow().isoformat()))
            _ready_key(db)
            signing_keys(settings.data_dir).ring()  # made at the first start, kept after
            _restrict_data(settings)
        except BaseException:
            db.dispose()  # the caller gets no database to close
            raise
    return db


def _ready_key(db: Database) -> None:
    """Make the node key on first start; finish a cut-short rotation; seal clear tokens."""
    key = db.key
    assert key is not None  # open_database always gives one
    if not key.exists():
        with db.session() as session:
            sealed = sum(len(sealed_values(session, column)) for column, _ in SEALED)
        if sealed:
            raise ConfigError(
                message(
                    "seal.missing_with_values",
                    "the node key file {path} is missing, and {count} stored value(s) "
                    "are sealed with it",
                    path=key.path,
                    count=sealed,
                ),
                hint=message(
                    "seal.missing_with_values.hint",
                    "restore the key file from backup (docs/operations.md); if it is lost "
                    "for good, run 'sarhad keys rotate-node-key --forget-unreadable' and give "
                    "each partner's token again with 'sarhad partners set NAME --token'",
                ),
            )
        key.create()
        log.info("made the node key %s", key.path)
    elif len(key.keys()) > 1:
        try:
            _reseal(db, action="node.key.rotation_finished")
        except ConfigError as exc:  # never keep the node from starting; say what is wrong
            log.warning("could not finish the node key rotation: %s", exc.message)
        else:
            key.write(key.keys()[:1])
    sqlite = db.backend == "sqlite"
    with db.session() as session:
        lock_writes(session)
        if sqlite:  # zero the clear values' old bytes instead of leaving them in free space
            session.execute(text("PRAGMA secure_delete=ON"))
        sealed_now, _ = seal_column(session, Partner.remote_token, clear=True, sealed=False)
        if sqlite:
            session.execute(text("PRAGMA secure_delete=OFF"))
        if sealed_now:
            audit(
                session,
                actor=CONSOLE.username,
                action="node.tokens.sealed",
                entity="node",
                entity_id=get_node_id(session),
                detail={"sealed": sealed_now},
            )
            log.warning("sealed %d partner token(s) stored in clear", sealed_now)
    if sealed_now and sqlite:
        # The write-ahead log still holds the pages as they were: fold it in and empty it.
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass(frozen=True)
class Rotation:
    """What a node key rotation did."""

    resealed: int
    forgotten: int


def _reseal(db: Database, *, action: str, forget: bool = False) -> Rotation:
    """Re-seal every sealed value under the key file's newest key, in one transaction."""
    resealed = forgotten = 0
    with db.session() as session:
        lock_writes(session)  # no one seals under an old key while we re-seal
        for column, clear in SEALED:
            done, lost = seal_column(session, column, clear=clear, sealed=True, forget=forget)
            resealed, forgotten = resealed + done, forgotten + lost
        audit(
            session,
            actor=CONSOLE.username,
            action=action,
            entity="node",
            entity_id=get_node_id(session),
            detail={"resealed": resealed, "forgotten": forgotten},
        )
    return Rotation(resealed=resealed, forgotten=forgotten)


def rotate_node_key(db: Database, *, forget_unreadable: bool = False) -> Rotation:
    """Seal every stored secret under a new node key and drop the old one.

    Crash-safe: the file gets the new key in front of the old ones, then the values are
    re-sealed in one transaction, then the old keys leave the file; at every moment the file
    opens every stored value. ``forget_unreadable``: for a node whose key is lost, values no
    key opens are cleared (their partners' tokens must then be given again) instead of
    stopping the rotation.
    """
    key = db.key
    assert key is not None
    try:
        old = key.keys()
    except ConfigError:
        if not forget_unreadable:
            raise
        old = []  # the key is lost: start afresh, clearing what only it could open
    with private_files():
        key.write([Fernet.generate_key(), *old])
        done = _reseal(db, action="node.key.rotated", forget=forget_unreadable)
        key.write(key.keys()[:1])
    return done


def node_id(db: Database) -> str:
    """This node's permanent id (a UUID made at ``init``)."""
    with db.session() as session:
        return get_node_id(session)


def alert_ports() -> AlertPorts:
    """Wire the alerts room to the partner directory (sharing) and to incidents."""
    return AlertPorts(counterpart=sharing.alert_counterpart, known_incidents=incidents.existing_ids)


def crossing_ports(alerts_wiring: AlertPorts) -> CrossingPorts:
    """Wire closure alerts to the partners whose agreement shares crossing status."""

    def partners(session: Session) -> list[str]:
        return [
            p.name
            for p in sharing.list_partners(session)
            if p.active and sharing.get_agreement(session, partner=p).share_crossings
        ]

    return CrossingPorts(alerts=alerts_wiring, partners=partners)


def feed_sources() -> FeedSources:
    """What the live feed streams: incidents, alerts and plans, each under its read permission."""
    return FeedSources(
        {
            "incident": FeedSource(Permission.INCIDENTS_READ, incidents.describe),
            "alert": FeedSource(Permission.ALERTS_READ, alerts.describe),
            "patrol_plan": FeedSource(Permission.PATROLS_READ, patrols.describe),
            "crossing_declaration": FeedSource(Permission.CROSSINGS_READ, crossings.describe),
        }
    )


def patrol_ports(settings: Settings, profile: BorderProfile) -> PatrolPorts:
    """Wire the planner to sector risk (analysis) and partners' deconfliction notices (alerts)."""
    params = RiskParams.from_settings(settings)

    def risk(session: Session, at: datetime, origin: str | None) -> RiskView:
        rows = analysis.sector_risk(session, profile=profile, params=params, at=at, origin=origin)
        return RiskView(
            scores={r.sector_id: r.score for r in rows}, levels={r.sector_id: r.level for r in rows}
        )

    def notices(session: Session, start: datetime, end: datetime) -> list[Notice]:
        out = []
        for a in alerts.active_notices(session, start=start, end=end):
            if a.km is not None:
                lo = hi = a.km
            elif a.sector_id is not None:
                sector = profile.sector(a.sector_id)
                lo, hi = sector.start_km, sector.end_km
            else:  # an alert always has a place; nothing to measure against otherwise
                continue
            out.append(Notice(a.id, lo, hi, a.valid_from, a.valid_until, a.text))
        return out

    return PatrolPorts(risk=risk, notices=notices)


def _shared(session: Session, start: datetime, end: datetime) -> list[Shared]:
    """Our incidents first put in each partner's collection in [start, end) (federation)."""
    rows = session.execute(
        select(Partner.name, CollectionObject.stix_id, CollectionObject.date_added)
        .join(Collection, Collection.id == CollectionObject.collection_id)
        .join(Partner, Partner.id == Collection.partner_id)
        .where(
            Collection.kind == "outbound",
            CollectionObject.stix_type == "incident",
            CollectionObject.is_first.is_(True),
            CollectionObject.date_added >= start,
            CollectionObject.date_added < end,
        )
    ).all()
    return [(name, sid.removeprefix("incident--"), at) for name, sid, at in rows]


def _send_figures(
    session: Session, partner: str, month: str, scopes: Mapping[str, Mapping[str, float]],
    withheld: Sequence[str], tlp: TLP, actor: str,
) -> bool:  # fmt: skip
    """Keep our figures of ``month`` for ``partner``: the report type publishes them."""
    return joint_reports.record_sent(
        session, partner=partner, month=month, scopes=scopes, withheld=withheld, level=tlp,
        actor=actor,
    )  # fmt: skip


def report_ports() -> ReportPorts:
    """Hand the monthly report the console's catalogue, code labels and font build (web),
    and what federation shared."""
    return ReportPorts(
        shared=_shared,
        held=lambda s, partner, ids: joint_reports.held_by(s, partner=partner, incident_ids=ids),
        send_figures=_send_figures,
        received=lambda s, month: joint_reports.received_figures(s, month=month),
        catalog=web_i18n.translations,
        labels=web_labels.LABELS,
        fonts=web_i18n.HERE / "static" / "vendor" / "fonts",
        fonts_css=web_i18n.HERE / "static" / "css" / "fonts.css",
    )
