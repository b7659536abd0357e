"""No English left: every page, in every language, says only what the catalogue says.

Each console page (as a duty officer and as an admin) and the public crossing page is rendered
by a real node in the pseudo-locale ``qps``, where every string found in the catalogue comes
back wrapped in ``⟦…⟧`` (``sarhad.core.i18n.Pseudo``, made from the .po files at test time).
Any visible text node, or ``title``/``aria-label``/``placeholder``/``alt``/button value, that
is left once the wrapped strings are taken out must be record data (a record's own text, which
the templates isolate in ``<bdi>`` or ``dir="auto"``), a place name, a number, a date or a code.
The same pages are rendered in en, ur and fa too (each must answer, in its own direction).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, Principal, Role, set_password
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.i18n import CLOSE, OPEN, translate
from sarhad.core.labels import word
from sarhad.federation import service as federation
from sarhad.incidents import links, service
from sarhad.incidents.schemas import IncidentIn
from sarhad.node import patrol_ports
from sarhad.patrols import service as patrols
from sarhad.patrols.ports import RiskView
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn
from support import Desks, LiveNode
from web.helpers import PASSWORD, sign_in, username

#: Record text the test types (shown as written, inside <bdi>/dir="auto").
TITLE = "Fuel smugglers seen near the line."
NARRATIVE = "Two pickups, then a motorbike. Seen by a patrol."
ALERT_TEXT = "Convoy heading south towards Taftan."
#: A partner whose node does not answer.
LOST = "lost-node"
PLAN_DAY = datetime.now(UTC).date() - timedelta(days=2)
BASES = """
max_stretch = 3
[[bases]]
name = "Mashkel"
side = "PK"
first_km = 350
last_km = 450
teams = 2
[[bases]]
name = "Saravan"
side = "IR"
first_km = 350
last_km = 450
teams = 2
"""

#: Text that is data, not wording: numbers, dates and times, ids, codes, units and signs.
DATA = re.compile(
    r"""^(
        [\s\d.,:;·/+\-–—−%()\[\]#×…|]+                       # numbers, times, punctuation
      | [0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}            # uuids
      | [0-9a-f]{6,12}                                       # short ids, fingerprints
      | TLP:[A-Z+]+ | (clear|green|amber|amber\+strict|red)  # TLP labels (a standard's words)
      | [A-Z]{2,4}(-[A-Z]{2})?-?\d+(\.\d+)?                  # sector ids, e.g. PKIR-012
      | \(?km\ [\d.–-]+\)?                                   # a stretch of the line (SI km)
      | [A-F][1-6]?                                          # Admiralty grading (A1..F6)
      | (PKT|IRST|UTC)\ \(UTC[+-]\d\d:\d\d\)                # zones and their offsets
      | (IRR|PKR|USD|kg|g|l|m3|t)                            # ISO 4217 currencies, SI units
      | (PK|IR|UTC|PKT|IRST|km|m|h|KB|STIX|TAXII|CSV|GeoJSON|Ed25519|SHA-256|JSON)
    )$""",
    re.X | re.I,
)
#: What may fill a placeholder of a catalogued sentence (the bare text beside ``⟦…⟧``, which
#: ``Pseudo`` leaves outside the brackets): data only. Not a word such as a side's code, a
#: status or a unit, which the reader's language has its own word for.
PARAMETER = re.compile(
    r"""^(
        [\s\d.,:;·/+\-–—−%()\[\]#×…|'"]+                     # numbers, times, punctuation
      | \d{4}-\d\d-\d\d([T\ ]\d\d:\d\d(:\d\d)?Z?)?(\ (PKT|IRST|UTC))?  # a date, a time
      | [0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}            # uuids
      | [0-9a-f]{6,12}                                       # short ids, fingerprints
      | TLP:[A-Z+]+                                          # TLP labels (a standard's words)
      | [A-Z]{2,4}(-[A-Z]{2})?-\d+(\.\d+)?                   # sector ids, e.g. PKIR-012
      | [a-z0-9]+(-[a-z0-9]+)+                               # ids: taftan-mirjaveh, ir-node
      | https?://\S+                                         # a partner's address
      | ([A-Z][a-z]+){2,}                                    # an error's class: ConnectError
      | [A-F][1-6]                                           # Admiralty grading (A1..F6)
    )$""",
    re.X,
)
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
#: Elements whose content is a record's own text or machine text, never wording.
DATA_TAGS = {"bdi", "code", "pre", "time", "kbd", "samp"}
SKIP_TAGS = {"script", "style", "template"}


class Visible(HTMLParser):
    """Collects the text a person sees (or hears) that is not record data."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, data-or-skipped)
        self.texts: list[str] = []

    def _in_data(self) -> bool:
        return any(flag for _, flag in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        data = (
            tag in DATA_TAGS
            or tag in SKIP_TAGS
            or a.get("dir") == "auto"
            or a.get("translate") == "no"
            or "data-record" in a
        )
        for name in ATTRIBUTES:
            if a.get(name):
                self.texts.append(f"@{name}: {a[name]}")
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.texts.append(f"@value: {a['value']}")
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "wbr", "col"):
            self.stack.append((tag, data or self._in_data()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._in_data() and data.strip():
            self.texts.append(data)


def unwrapped(text: str) -> str:
    """``text`` without the catalogue's strings (``⟦…⟧``, which may nest)."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}", "\n", text)
    return text


def allowed_names() -> set[str]:
    """Place, sector and language names: the border profile's data in every language."""
    profile = load_profile()
    names = {"English", "اردو", "فارسی", "Sarhad"}
    for place in [*profile.crossings, *profile.markets]:
        names |= set(place.names.values())
    for sector in profile.sectors:
        names.add(sector.id)
    return names


def leaks(html: str, data: set[str]) -> list[str]:
    """Every piece of visible text in ``html`` (qps) that did not come through the catalogue."""
    parser = Visible()
    parser.feed(html)
    found = []
    for raw in parser.texts:
        label, _, text = raw.partition(": ") if raw.startswith("@") else ("", "", raw)
        rest = unwrapped(text)
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, "\n")
        pieces = [p.strip() for p in re.split(r"\s{2,}|\n", rest) if p.strip()]
        # Beside catalogued words, a piece fills a sentence's placeholder: data only.
        rule = PARAMETER if OPEN in text else DATA
        bad = [p for p in pieces if not rule.match(p)]
        if bad:
            found.append(f"{label} {' | '.join(bad)}".strip())
    return found


@pytest.fixture
def seeded(desks: Desks, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Pakistan's node with a record of each kind: incidents (one withheld from the partner,
    one held by the release delay), alerts both ways, a closure (and its alert), a plan."""
    pk, ir = desks.pk, desks.ir
    for node in (pk, ir):
        with node.db.session() as s:
            for role in node.tokens:
                set_password(s, username=username(role), password=PASSWORD, actor=CONSOLE.username)
    with pk.db.session() as s:
        sharing.set_agreement(
            s,
            partner=ir.settings.node_name,
            changes=AgreementIn(
                max_tlp="green",
                release_delay_hours=72,
                withheld_fields=["sources", "narrative"],
                categories=["armed_attack", "smuggling_narcotics"],  # a category reason
            ),
            actor=CONSOLE,
        )

    ids = []
    with pk.client(Role.DUTY_OFFICER) as c:
        for tlp, when in (("amber", "2026-03-01T22:00:00Z"), ("green", None)):
            body = {
                "title": TITLE,
                "narrative": NARRATIVE,
                "category": "smuggling_fuel",
                "occurred_at": when or datetime.now(UTC).isoformat(),
                "location": {"lon": 61.45, "lat": 29.02, "precision": "near"},
                "reporting_side": "PK",
                "tlp": tlp,
            }
            r = c.post("/api/v1/incidents", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        first = {"title": TITLE, "narrative": NARRATIVE, "category": "smuggling_fuel"}
        first |= {"occurred_at": "2026-03-01T22:00:00Z", "reporting_side": "IR"}
        first |= {"location": {"lon": 61.45, "lat": 29.02, "precision": "near"}}
        r = c.post(
            "/api/v1/alerts",
            json={
                "priority": "immediate",
                "kind": "smuggling_movement",
                "text": ALERT_TEXT,
                "tlp": "green",
                "location": {"lon": 61.6, "lat": 28.95},
            },
        )
        assert r.status_code == 201, r.text
        r = c.post(
            "/api/v1/crossings/declarations",
            json={"crossing": "taftan-mirjaveh", "status": "closed", "reason": "security_incident"},
        )
        assert r.status_code == 201, r.text
    # The partner's record of the first one's event: the incident page shows the pair's link
    # and the reasons it scored as it did.
    with pk.db.session() as s:
        lock_writes(s)
        theirs = str(uuid.uuid4())
        service.store_received(
            s,
            record_id=theirs,
            data=IncidentIn.model_validate(first),
            version=1,
            status="validated",
            remote_modified=utcnow(),
            origin_node_id=str(uuid.UUID(int=7)),
            origin="partner:ir-node",
            withheld=[],
            revoked=False,
            profile=load_profile(),
        )
        assert links.propose(s, incident_ids=[theirs])
    with ir.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/alerts",
            json={
                "priority": "routine",
                "kind": "request_for_information",
                "text": ALERT_TEXT,
                "tlp": "green",
                "location": {"lon": 61.6, "lat": 28.95},
            },
        )
        assert r.status_code == 201, r.text
    config = tmp_path / "patrols.toml"
    config.write_text(BASES)
    settings = pk.settings.model_copy(update={"patrol_config": config})
    profile = load_profile()
    real = patrol_ports(settings, profile)

    def risk(session: Any, at: datetime, origin: str | None) -> RiskView:
        view = real.risk(session, at, origin)
        return RiskView(scores=view.scores, levels={k: "high" for k in view.levels})

    with pk.db.session() as s:
        plan = patrols.make_plan(
            s,
            profile=profile,
            settings=settings,
            ports=dataclasses.replace(real, risk=risk),
            day=PLAN_DAY,
            actor=Principal("commander-1", Role.COMMANDER),
        )
    # A partner whose node does not answer (added last: alerts above have one partner to go
    # to): its last sync error is on the sharing page.
    with pk.db.session() as s:
        sharing.add_partner(
            s, name=LOST, country="IR", taxii_url="http://127.0.0.1:9/taxii2/api/", actor=CONSOLE
        )
    (lost,) = federation.sync_all(pk.db, settings=pk.settings, profile=profile, partner=LOST)
    assert lost.error is not None and lost.error.code == "partner.no_answer"
    yield {"node": pk, "incident": ids[0], "plan": plan.id, "day": PLAN_DAY}


def pages(seed: dict[str, Any]) -> list[str]:
    day: date = seed["day"]
    return [
        "/",
        "/incidents",
        f"/incidents/{seed['incident']}",
        f"/incidents/{seed['incident']}/edit",
        "/incidents/new",
        "/incidents/no-such-record",
        "/alerts",
        "/alerts/new",
        "/crossings",
        "/crossings/taftan-mirjaveh",
        f"/patrols?day={day.isoformat()}",
        f"/patrols/{seed['plan']}",
        "/sharing",
        "/news",
        "/reports",
    ]


def signed_in(node: LiveNode, role: Role) -> httpx.Client:
    client = httpx.Client(base_url=node.url, timeout=30)
    assert sign_in(client, username(role)).status_code == 303
    return client


@pytest.mark.once_on("sqlite")
def test_every_page_says_only_what_the_catalogue_says(seeded: dict[str, Any]) -> None:
    node: LiveNode = seeded["node"]
    data = (
        allowed_names()
        | {
            TITLE,
            NARRATIVE,
            ALERT_TEXT,
            node.settings.node_name,
            "ir-node",
            LOST,
            "Mashkel",
            "Saravan",
            "console",  # the node's own account, named in "added by"
        }
        | {username(r) for r in Role}
    )
    found: dict[str, list[str]] = {}
    anonymous = httpx.Client(base_url=node.url, timeout=30)
    for path in ("/signin", "/public/crossings"):
        html = anonymous.get(f"{path}?lang=qps").text
        assert OPEN in html, path
        if bad := leaks(html, data):
            found[path] = bad
    for role in (Role.DUTY_OFFICER, Role.ADMIN):
        client = signed_in(node, role)
        for path in pages(seeded):
            sep = "&" if "?" in path else "?"
            r = client.get(f"{path}{sep}lang=qps")
            assert r.status_code in (200, 403, 404), (path, r.status_code)
            if bad := leaks(r.text, data):
                found[f"{role.value} {path}"] = bad
            for lang in ("en", "ur", "fa"):
                other = client.get(f"{path}{sep}lang={lang}")
                assert other.status_code == r.status_code, (path, lang)
                direction = "rtl" if lang != "en" else "ltr"
                assert f'<html lang="{lang}" dir="{direction}">' in other.text, (path, lang)
        client.close()
    anonymous.close()
    total = sum(len(v) for v in found.values())
    report = "\n".join(f"{page}: {bad}" for page, bad in found.items())
    assert not found, f"{total} piece(s) of text not from the catalogue:\n{report}"


def test_the_pseudo_locale_marks_every_catalogued_string_and_nothing_else() -> None:
    assert translate("incidents.not_found", {"id": "x"}, "qps") == f"{OPEN}no incident {CLOSE}x"
    assert leaks(f"<p>{OPEN}Incidents{CLOSE}</p>", set()) == []
    assert leaks("<p>Incidents</p>", set()) == ["Incidents"]
    assert leaks('<a title="Open it">x</a>', set()) == ["@title Open it", "x"]
    assert leaks(f"<h1>{OPEN}Incident{CLOSE} <bdi>{TITLE}</bdi> 12</h1>", set()) == []
    assert leaks("<td>PKIR-012</td><td>2026-03-01 22:00</td><td>TLP:AMBER</td>", set()) == []


def test_an_english_word_put_into_a_catalogued_sentence_is_caught() -> None:
    """A sentence from the catalogue whose parameter is an English word (a status, a side,
    a shift) is a leak: the pseudo-locale leaves parameters outside its marks."""
    said = translate("sharing.status", {"status": "draft"}, "qps")
    assert leaks(f"<li>{said}</li>", set()) == ["draft"]
    side = translate("patrols.note.uncovered", {"count": 72, "side": "PK"}, "qps")
    assert leaks(f"<li>{side}</li>", set()) == ["PK"]
    # worded through the catalogue (core.labels.word), or data: no leak
    worded = translate("sharing.status", {"status": word("incident_status", "draft")}, "qps")
    assert leaks(f"<li>{worded}</li>", set()) == []
    tlp = translate("tlp.above_limit", {"tlp": "TLP:AMBER", "limit": "TLP:GREEN"}, "qps")
    assert leaks(f"<li>{tlp}</li>", set()) == []
