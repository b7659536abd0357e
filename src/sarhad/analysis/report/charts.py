"""The report's charts and map as SVG (matplotlib; text stays text, fonts from our own build).

matplotlib 3.11 shapes Urdu and Persian itself (libraqm): strings are passed as they are,
never through arabic-reshaper or python-bidi (that would reverse them twice). The fonts are
the console's own WOFF2 files converted once to TTF (matplotlib reads no WOFF2), see
:func:`ttf_fonts`; system fonts are never used.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; set before pyplot is imported

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.figure import Figure

from sarhad.analysis.report.figures import MONTHS, Row
from sarhad.border import BorderProfile

#: The font files of the console's build the report uses (stems; .woff2 in the fonts folder).
FONT_STEMS = (
    "noto-sans-latin-400-normal",
    "noto-sans-latin-700-normal",
    "noto-nastaliq-urdu-arabic-400-normal",
    "noto-nastaliq-urdu-arabic-700-normal",
    "vazirmatn-arabic-400-normal",
    "vazirmatn-arabic-700-normal",
)
#: Family lists per language: the script's own font first, Latin digits and names after.
FAMILIES = {
    "en": ["Noto Sans"],
    "ur": ["Noto Nastaliq Urdu", "Noto Sans"],
    "fa": ["Vazirmatn", "Noto Sans"],
}
LEVEL_COLOURS = {"low": "#9ccc65", "medium": "#ffca28", "high": "#fb8c00", "critical": "#d32f2f"}
_LOCK = threading.Lock()
_REGISTERED: set[Path] = set()


def cache_dir() -> Path:
    """Where converted fonts are kept: ``$SARHAD_CACHE_DIR`` or ``~/.cache/sarhad``."""
    root = os.environ.get("SARHAD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sarhad"
    )
    return Path(root) / "fonts"


def ttf_fonts(fonts: Path) -> dict[str, Path]:
    """stem → TTF converted from ``fonts/<stem>.woff2`` (kept in the cache, by content hash)."""
    from fontTools.ttLib import TTFont

    out = {}
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    for stem in FONT_STEMS:
        src = fonts / f"{stem}.woff2"
        data = src.read_bytes()
        ttf = target / f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}.ttf"
        if not ttf.exists():
            font = TTFont(io.BytesIO(data))
            font.flavor = None
            tmp = ttf.with_suffix(f".{os.getpid()}.tmp")
            font.save(tmp)
            tmp.replace(ttf)  # atomic: two processes may convert at once
        out[stem] = ttf
    with _LOCK:
        for path in out.values():
            if path not in _REGISTERED:
                font_manager.fontManager.addfont(str(path))
                _REGISTERED.add(path)
    return out


def _svg(fig: Figure, *, dpi: float = 100) -> str:
    buf = io.StringIO()
    # ``dpi`` is the resolution of the parts drawn rasterised (the map's incidents).
    fig.savefig(buf, format="svg", bbox_inches="tight", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _style(lang: str) -> dict[str, object]:
    # English chart text stays text (searchable, our embedded fonts). Urdu and Persian go as
    # outlines that matplotlib shaped itself: WeasyPrint draws SVG text one letter at a time,
    # unshaped and left to right, so a legend in text read "ک زان" for "نازک" (see the page
    # images in test-artifacts/report/). The numbers on the axes are Latin either way.
    fonttype = "path" if lang in ("ur", "fa") else "none"
    return {"font.family": FAMILIES[lang], "svg.fonttype": fonttype, "font.size": 9}


def trend_chart(
    series: dict[str, list[int]], labels: Sequence[str], names: dict[str, str], lang: str
) -> str:
    """Incidents per month, one line per provenance (13 months, the report's month last)."""
    with plt.rc_context(_style(lang)):
        fig, ax = plt.subplots(figsize=(7.0, 2.8))
        for prov, colour in (("ours", "#1565c0"), ("partner", "#2e7d32"), ("joint", "#424242")):
            if prov in series:
                ax.plot(range(MONTHS), series[prov], marker="o", color=colour, label=names[prov])
        ax.set_xticks(range(MONTHS), labels, rotation=45, fontsize=7)
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
        if lang != "en":
            ax.invert_xaxis()  # time runs right to left on a right-to-left page
        return _svg(fig)


def category_chart(counts: dict[str, int], names: Callable[[str], str], lang: str) -> str:
    """The report month's joint incidents by category (horizontal bars)."""
    items = sorted(counts.items(), key=lambda kv: kv[1])
    with plt.rc_context(_style(lang)):
        fig, ax = plt.subplots(figsize=(7.0, 0.3 * max(3, len(items)) + 0.6))
        ax.barh([names(k) for k, _ in items], [v for _, v in items], color="#5c6bc0")
        ax.grid(axis="x", alpha=0.3)
        if lang != "en":
            ax.invert_xaxis()
            ax.yaxis.tick_right()
        return _svg(fig)


_Outlines = list[tuple[str, list[float], list[float]]]
_Lines = list[list[tuple[float, float]]]
_BASE: dict[int, tuple[BorderProfile, _Outlines, _Lines]] = {}


def _base_map(profile: BorderProfile) -> tuple[_Outlines, _Lines]:
    """The country outlines around the line and the sectors' lines, simplified, once per
    profile (the same in every language and month; clipping whole countries costs seconds).

    Only the country around the line: the sides' outlines are whole countries with thousands
    of points, which cost seconds in the SVG and nothing a reader can see.
    """
    from shapely.geometry import box

    key = id(profile)
    with _LOCK:
        cached = _BASE.get(key)
        if cached is not None and cached[0] is profile:  # the same object, not a reused id
            return cached[1], cached[2]
    x0, y0, x1, y1 = profile.line.bounds
    pad = max(x1 - x0, y1 - y0) * 0.15
    frame = box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    outlines = []
    for side, poly in profile.polygons.items():
        shape = poly.intersection(frame).simplify(pad / 200)
        for g in getattr(shape, "geoms", [shape]):
            if g.is_empty or not hasattr(g, "exterior"):
                continue
            x, y = g.exterior.xy
            outlines.append((side, list(x), list(y)))
    lines = [list(sector.geometry.simplify(0.005).coords) for sector in profile.sectors]
    with _LOCK:
        _BASE[key] = (profile, outlines, lines)
    return outlines, lines


def border_map(
    profile: BorderProfile,
    rows: Sequence[Row],
    levels: dict[str, str],
    names: dict[str, str],
    lang: str,
) -> str:
    """The line coloured by sector impact level, incidents sized by casualties, crossings."""
    from matplotlib.collections import LineCollection

    x0, y0, x1, y1 = profile.line.bounds
    pad = max(x1 - x0, y1 - y0) * 0.15
    outlines, lines = _base_map(profile)
    with plt.rc_context(_style(lang)):
        fig, ax = plt.subplots(figsize=(6.0, 6.0))
        for side, x, y in outlines:
            ax.fill(x, y, color="#eceff1" if side == profile.sides[0] else "#fafafa", lw=0)
        segments, colours = [], []
        for sector, coords in zip(profile.sectors, lines, strict=True):
            segments.append(coords)
            colours.append(LEVEL_COLOURS.get(levels.get(sector.id, "low"), "#9e9e9e"))
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=3))
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
        # Killed and injured of every party (detained people are not hurt): the size.
        hurt = [sum(r.casualties[i] for i in (0, 1, 3, 4, 6, 7)) for r in rows]
        # One picture, not one SVG element per incident: thousands of markers a month made
        # the SVG (and WeasyPrint's drawing of it) the slowest part of the report
        # (docs/benchmarks.md, "Monthly report"). Lines, crossings and text stay vectors.
        ax.scatter(
            [r.lon for r in rows], [r.lat for r in rows], s=[12 + 18 * h for h in hurt],
            alpha=0.55, linewidths=0.5, edgecolors="black",
            c=["#2e7d32" if r.partner else "#1565c0" for r in rows], rasterized=True,
        )  # fmt: skip
        ax.scatter(
            [c.lon for c in profile.crossings], [c.lat for c in profile.crossings],
            marker="s", s=30, color="black",
        )  # fmt: skip
        handles = [
            plt.Line2D([], [], color=col, lw=3, label=names[f"level_{lv}"])
            for lv, col in LEVEL_COLOURS.items()
        ] + [
            plt.Line2D([], [], marker="o", ls="", color="#1565c0", label=names["ours"]),
            plt.Line2D([], [], marker="o", ls="", color="#2e7d32", label=names["partner"]),
            plt.Line2D([], [], marker="s", ls="", color="black", label=names["crossing"]),
        ]
        ax.legend(handles=handles, fontsize=7, loc="lower left", frameon=True)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        return _svg(fig, dpi=200)
