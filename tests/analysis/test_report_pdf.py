"""The monthly report as a reader gets it: read the PDF back with poppler's tools.

Every number in the tables is compared with a direct query of the database; Urdu and Persian
sentences must come back in logical order; every font must be embedded. A PNG of each page in
each language is written to test-artifacts/report/ for people to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from analysis.report_data import MONTH, december
from sarhad.analysis.crossings.figures import ReportParams
from sarhad.analysis.report.service import MonthlyData, monthly_data, render_pdf
from sarhad.analysis.risk import RiskParams
from sarhad.border import BorderProfile
from sarhad.core.auth import Principal
from sarhad.core.db import Database
from sarhad.incidents.models import Incident
from sarhad.node import report_ports

pytestmark = pytest.mark.once_on("sqlite")  # PDF rendering: seconds per language

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "report"


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def _render(
    db: Database, profile: BorderProfile, duty: Principal, tmp_path: Path, langs: tuple[str, ...]
) -> tuple[dict[str, Path], MonthlyData]:
    """Store December, render it in ``langs``, keep the PDFs and their page images."""
    december(db, profile, duty)
    with db.session() as s:
        data = monthly_data(
            s, profile=profile, month=MONTH, node_side="PK", risk_params=RiskParams(),
            crossing_params=ReportParams(), permutations=99,
        )  # fmt: skip
    ports = report_ports()
    out = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        pdf = tmp_path / f"report-{lang}.pdf"
        pdf.write_bytes(render_pdf(data, lang=lang, profile=profile, ports=ports, joint=True))
        shutil.copy(pdf, ARTIFACTS / pdf.name)
        for old in ARTIFACTS.glob(f"report-{lang}-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(pdf), str(ARTIFACTS / f"report-{lang}")],
            check=True,
        )
        out[lang] = pdf
    return out, data


@pytest.fixture
def rendered(
    db: Database, profile: BorderProfile, duty: Principal, tmp_path: Path
) -> tuple[dict[str, Path], MonthlyData]:
    """One rendering in the three languages for the tests that read it (seconds each)."""
    return _render(db, profile, duty, tmp_path, ("en", "ur", "fa"))


def test_numbers_equal_direct_queries_persian_reads_back_and_fonts_are_embedded(
    rendered: tuple[dict[str, Path], MonthlyData], db: Database
) -> None:
    pdfs, _ = rendered
    text = _text(pdfs["en"])
    start, end = datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    with db.session() as s:

        def count(*where: object) -> int:
            return int(
                s.scalar(
                    select(func.count()).select_from(Incident).where(
                        Incident.occurred_at >= start, Incident.occurred_at < end,
                        Incident.status != "draft", Incident.revoked.is_(False), *where,
                    )
                ) or 0
            )  # fmt: skip

        ours = count(Incident.origin_node_id.is_(None))
        theirs = count(Incident.origin_node_id.is_not(None))
        by_category = dict(
            s.execute(
                select(Incident.category, func.count())
                .where(Incident.occurred_at >= start, Incident.occurred_at < end,
                       Incident.origin_node_id.is_(None), Incident.status != "draft")
                .group_by(Incident.category)
            ).all()
        )  # fmt: skip
        sf_killed = s.scalar(
            select(func.sum(Incident.sf_killed)).where(
                Incident.occurred_at >= start, Incident.occurred_at < end,
                Incident.origin_node_id.is_(None),
            )
        )  # fmt: skip
    lines = text.splitlines()

    def row(label: str, provenance: str) -> list[str]:
        for line in lines:
            text = line.strip()
            if text.startswith(label):
                rest = text[len(label) :].strip()
                if rest.startswith(provenance + " "):
                    return rest[len(provenance) :].split()
        raise AssertionError(f"no row {label!r} / {provenance!r} in:\n{text}")

    assert row("All incidents", "Ours")[0] == str(ours)
    assert row("All incidents", "Partner's")[0] == str(theirs)
    assert row("Armed attack", "Ours")[0] == str(by_category["armed_attack"])
    assert row("Armed clash", "Ours")[0] == str(by_category["armed_clash"])
    killed = next(re.split(r"\s{2,}", ln.strip()) for ln in lines if "Security forces killed" in ln)
    assert killed[1] == str(sf_killed)  # ours
    assert re.search(r"hashish\s+kg\s+3\.5", text)
    _persian_and_fonts(pdfs)


#: The fonts of the project's own build; anything else would be a system font.
OUR_FONTS = ("Noto-Sans", "Noto-Nastaliq-Urdu", "Vazirmatn")


def _fonts(pdf: Path) -> list[str]:
    return subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]


def _persian_and_fonts(pdfs: dict[str, Path]) -> None:
    """Persian comes back in logical order; every font is ours and embedded; pages drawn."""
    text = " ".join(_text(pdfs["fa"]).split())
    for phrase in ("گزارش ماهانه مرز", "رویدادهایی که هر دو طرف گزارش کردند"):
        assert phrase in text, f"{phrase!r} not found in {text[:400]!r}"
    for lang, pdf in pdfs.items():
        fonts = _fonts(pdf)
        assert fonts, lang
        for line in fonts:
            name = line.split()[0].split("+", 1)[-1]
            assert name.startswith(OUR_FONTS), f"{lang}: not our font: {line}"
            assert line.split()[-5] == "yes", f"{lang}: not embedded: {line}"
    for lang in pdfs:
        assert sorted(ARTIFACTS.glob(f"report-{lang}-*.png")), lang


def test_urdu_comes_back_in_logical_order(
    db: Database, profile: BorderProfile, duty: Principal, tmp_path: Path
) -> None:
    """Nastaliq draws letters from shared glyphs, so the fonts' map alone reads wrong letters;
    the lines carry their text as ActualText (analysis/report/actual_text.py), and pdftotext
    gives the Urdu back letter for letter, in reading order, headings and table labels alike."""
    pdfs, _ = _render(db, profile, duty, tmp_path, ("ur",))
    text = " ".join(_text(pdfs["ur"]).split())
    for phrase in (
        "ماہانہ سرحدی رپورٹ",  # the title
        "دونوں اطراف کے رپورٹ کردہ واقعات",  # a heading of the cooperation page
        "طریقۂ کار اور ڈیٹا",  # the methods page
        "تمام واقعات",  # a table's row label
    ):
        assert phrase in text, f"{phrase!r} not found in {text[:400]!r}"
    # Still Nastaliq on the page, embedded (the console's font, not a substitute).
    assert any("Noto-Nastaliq-Urdu" in line for line in _fonts(pdfs["ur"]))
