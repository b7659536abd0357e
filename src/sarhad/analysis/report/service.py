"""The monthly (joint) report: figures from the database, then a PDF in en, ur or fa.

``monthly_data`` reads and computes (once per month, whatever the language); ``render_pdf``
turns it into a PDF with WeasyPrint from ``templates/report.html``, the console's catalogue
(``report.po`` and the rest, through :class:`ReportPorts`) and SVG charts from ``charts``.
Definitions and limits: docs/analysis.md.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2
from sqlalchemy.orm import Session

from sarhad.analysis import service as risk_service
from sarhad.analysis.crossings.figures import ReportParams, parse_month
from sarhad.analysis.report import actual_text, charts
from sarhad.analysis.report.collect import (
    SCAN_WEEKS,
    Cooperation,
    cooperation,
    incident_rows,
    joint_events,
)
from sarhad.analysis.report.figures import (
    CASUALTY_FIELDS,
    KINDS,
    PARTIES,
    PROVENANCES,
    THIS,
    Figures,
    Row,
    Trend,
    compute,
    month_start,
    shift,
)
from sarhad.analysis.report.joint import SCOPES, Comparison, comparisons
from sarhad.analysis.report.ports import ReportPorts, Shared
from sarhad.analysis.report.stats import (
    ALPHA,
    MIN_COUNT,
    Cluster,
    SectorHotspot,
    gi_star,
    space_time_scan,
)
from sarhad.analysis.risk import RiskParams
from sarhad.border import BorderProfile
from sarhad.core.config import Settings
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message

LANGS = ("en", "ur", "fa")
RTL = frozenset({"ur", "fa"})
TEMPLATES = Path(__file__).parent / "templates"
#: Width of a km bin of the space-time scan.
SCAN_KM = 10.0
PERMUTATIONS = 999


@dataclass
class MonthlyData:
    """Everything one month's report shows, in every language."""

    month: str
    node_side: str
    figures: Figures
    rows: list[Row]  # the 13 months, every provenance
    cooperation: Cooperation
    levels: dict[str, str]  # sector → impact level at the end of the month
    hotspots: list[SectorHotspot]
    cluster: Cluster | None
    scan_bins: int
    scan_start: datetime
    #: Our figures on the records shared with each partner beside those it sent (joint report).
    partner_figures: dict[str, Comparison] = field(default_factory=dict)


def check_lang(lang: str) -> str:
    """``lang`` when it is one of the report's languages; an error naming ``lang`` otherwise."""
    if lang not in LANGS:
        raise InvalidInput(
            FieldError.of(
                "lang",
                message(
                    "analysis.lang",
                    "{lang} is not one of {langs}",
                    lang=repr(lang),
                    langs=", ".join(LANGS),
                ),
            )
        )
    return lang


def monthly_data(
    session: Session,
    *,
    profile: BorderProfile,
    month: str,
    node_side: str,
    risk_params: RiskParams,
    crossing_params: ReportParams,
    shared: Callable[[Session, datetime, datetime], list[Shared]] | None = None,
    permutations: int = PERMUTATIONS,
) -> MonthlyData:
    """Read and compute the month (``YYYY-MM``); raises ``InvalidInput`` naming ``month``."""
    y, m = parse_month(month)
    month = f"{y:04d}-{m:02d}"
    rows = incident_rows(session, month=month)
    events = joint_events(session, [r.id for r in rows])
    figures = compute(month, rows, events)
    joint = {r.id for r in figures_rows(rows, events)}
    this = [r for r in rows if r.month == THIS and r.id in joint]
    per_sector = {s.id: 0.0 for s in profile.sectors}
    for r in this:
        if r.sector in per_sector:
            per_sector[r.sector] += 1
    hotspots = gi_star(
        list(per_sector.values()), list(per_sector), permutations=permutations, seed=19
    )
    n_bins = max(1, math.ceil(profile.length_km / SCAN_KM))
    scanned = [r for r in rows if r.id in joint and r.week >= 0 and r.km is not None]
    cluster = space_time_scan(
        [min(n_bins - 1, int((r.km or 0.0) // SCAN_KM)) for r in scanned],
        [r.week for r in scanned],
        n_bins=n_bins,
        n_weeks=SCAN_WEEKS,
        permutations=permutations,
        seed=19,
    )
    end = month_start(shift(month, 1))
    # The map's colours: the levels only, not each sector's explained contributions.
    levels = risk_service.sector_levels(session, profile=profile, params=risk_params, at=end)
    co = cooperation(
        session,
        month=month,
        profile=profile,
        node_side=node_side,
        crossing_params=crossing_params,
        shared=shared or (lambda _s, _a, _b: []),
    )
    return MonthlyData(
        month=month,
        node_side=node_side,
        figures=figures,
        rows=rows,
        cooperation=co,
        levels=levels,
        hotspots=hotspots,
        cluster=cluster,
        scan_bins=n_bins,
        scan_start=datetime.fromtimestamp(end.timestamp() - SCAN_WEEKS * 7 * 86400, end.tzinfo),
    )


def figures_rows(rows: list[Row], events: dict[str, str]) -> list[Row]:
    """The joint rows (one per event), as ``figures.by_provenance`` chooses them."""
    from sarhad.analysis.report.figures import by_provenance

    return by_provenance(rows, events)["joint"]


# --- rendering -----------------------------------------------------------------------------


def _num(value: float | int | None) -> str:
    """Numbers as the tables print them (Western digits in every language: they are codes a
    reader compares across the two sides' reports)."""
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.1f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _font_faces(ports: ReportPorts) -> str:
    """The console's @font-face rules, pointed at the TTFs converted from its WOFF2 files."""
    ttf = charts.ttf_fonts(ports.fonts)
    css = ports.fonts_css.read_text(encoding="utf-8")
    blocks = re.findall(r"@font-face\s*{[^}]*}", css)
    out = []
    for block in blocks:
        m = re.search(r'url\("[^"]*/([^/"]+)\.woff2"\)\s*format\("woff2"\)', block)
        if m is None or m.group(1) not in ttf:
            continue
        uri = ttf[m.group(1)].resolve().as_uri()
        out.append(block.replace(m.group(0), f'url("{uri}") format("truetype")'))
    return "\n".join(out)


def _environment(lang: str, ports: ReportPorts) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(ports.catalog(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["num"] = _num
    env.filters["p"] = _p
    return env


def render_html(
    data: MonthlyData, *, lang: str, profile: BorderProfile, ports: ReportPorts,
    joint: bool = False, generated_at: datetime | None = None,
) -> str:  # fmt: skip
    """The report as HTML (what WeasyPrint lays out)."""
    check_lang(lang)
    font_faces = _font_faces(ports)  # first: it registers the fonts the charts use
    env = _environment(lang, ports)
    tr = ports.catalog(lang)
    gettext: Callable[[str], str] = tr.gettext

    def label(group: str, code: str) -> str:
        if group == "all":
            return gettext("All incidents")
        text = ports.labels.get(group, {}).get(code)
        return gettext(text) if text else code

    fig = data.figures
    months = [shift(data.month, k - THIS) for k in range(THIS + 1)]
    names = {
        "ours": gettext("Ours"),
        "partner": gettext("Partner's"),
        "joint": gettext("Joint"),
        "crossing": gettext("Crossing"),
        **{f"level_{lv}": label("impact", lv) for lv in charts.LEVEL_COLOURS},
    }
    casualty_names = {
        "sf_killed": gettext("Security forces killed"),
        "sf_injured": gettext("Security forces injured"),
        "sf_detained": gettext("Security forces detained"),
        "civ_killed": gettext("Civilians killed"),
        "civ_injured": gettext("Civilians injured"),
        "civ_detained": gettext("Civilians detained"),
        "asl_killed": gettext("Assailants killed"),
        "asl_injured": gettext("Assailants injured"),
        "asl_detained": gettext("Assailants detained"),
    }
    reason_names = {
        "agreement_expired": gettext("agreement expired"),
        "category": gettext("category not in the agreement"),
        "far_from_line": gettext("far from the line"),
        "sector": gettext("sector not in the agreement"),
        "status": gettext("status not shared"),
        "forwarding": gettext("received from another node"),
        "release_delay": gettext("release delay"),
        "marking": gettext("TLP marking"),
    }
    scope_names = {
        "sender": gettext("Our records the partner holds"),
        "receiver": gettext("The partner's records as we received them"),
        "joint": gettext("Joint events, counted once"),
    }

    def figure(name: str) -> str:
        """A figure's name in the reader's language (``federation.types.report`` names)."""
        family, _, rest = name.partition(".")
        if family == "incidents":
            return gettext("Incidents")
        if family == "category":
            return label("category", rest)
        if family == "casualties":
            return casualty_names.get(rest, rest)
        if family == "seizures":
            commodity, _, unit = rest.rpartition(".")
            return f"{gettext('Seizures')}: {label('commodity', commodity)} ({unit})"
        return name

    by_sector: dict[str, dict[str, Trend]] = {}
    for t in fig.trends:
        if t.dimension == "sector":
            by_sector.setdefault(t.value, {})[t.provenance] = t
    sector_trends = sorted(by_sector.items())
    this_rows = [r for r in data.rows if r.month == THIS]
    joint_cat = {
        t.value: t.month
        for t in fig.trends
        if t.provenance == "joint" and t.dimension == "category"
    }
    svg = {
        "map": charts.border_map(profile, this_rows, data.levels, names, lang),
        "trend": charts.trend_chart(fig.series, months, names, lang),
        "categories": charts.category_chart(joint_cat, lambda c: label("category", c), lang),
    }
    # As images (data URIs): inline, the three SVGs' element ids would clash.
    svg = {
        k: "data:image/svg+xml;base64," + base64.b64encode(v.encode()).decode()
        for k, v in svg.items()
    }
    template = env.get_template("report.html")
    return template.render(
        lang=lang,
        dir="rtl" if lang in RTL else "ltr",
        data=data,
        fig=fig,
        joint=joint,
        svg=svg,
        label=label,
        names=names,
        provenances=PROVENANCES,
        parties=PARTIES,
        kinds=KINDS,
        casualty_fields=CASUALTY_FIELDS,
        casualty_names=casualty_names,
        reason_names=reason_names,
        scopes=SCOPES,
        scope_names=scope_names,
        sector_trends=sector_trends,
        figure=figure,
        alpha=ALPHA,
        min_count=MIN_COUNT,
        scan_km=SCAN_KM,
        scan_weeks=SCAN_WEEKS,
        font_faces=font_faces,
        generated_at=generated_at,
        profile=profile,
    )


def render_pdf(
    data: MonthlyData, *, lang: str, profile: BorderProfile, ports: ReportPorts,
    joint: bool = False, generated_at: datetime | None = None,
) -> bytes:  # fmt: skip
    """The report as PDF bytes (fonts embedded: WeasyPrint subsets and embeds every font)."""
    # Imported here: WeasyPrint loads Pango at import (about a second), and only this needs it.
    from weasyprint import HTML

    # Lines whose glyphs the fonts' maps cannot read back (Nastaliq's shared glyphs) carry their
    # text as ActualText, so pdftotext, search and copy give the right Urdu (actual_text.py).
    actual_text.install()
    html = render_html(
        data, lang=lang, profile=profile, ports=ports, joint=joint, generated_at=generated_at
    )
    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def monthly_pdf(
    session: Session,
    *,
    profile: BorderProfile,
    settings: Settings,
    ports: ReportPorts,
    month: str,
    lang: str,
    joint: bool = False,
    step: Callable[[str], None] | None = None,
) -> bytes:
    """Read, compute and render one month in one language (what the CLI and route call).

    ``step`` is told each stage's name (the CLI's progress bar).
    """
    check_lang(lang)
    tell = step or (lambda _stage: None)
    tell("figures")
    data = monthly_data(
        session,
        profile=profile,
        month=month,
        node_side=settings.node_side,
        risk_params=RiskParams.from_settings(settings),
        crossing_params=ReportParams.from_settings(settings),
        shared=ports.shared,
    )
    if joint:
        tell("partner figures")
        data.partner_figures = comparisons(session, month=data.month, ports=ports, rows=data.rows)
    tell("pdf")
    return render_pdf(data, lang=lang, profile=profile, ports=ports, joint=joint)
