"""The public crossing page's own fonts: Noto Nastaliq Urdu and Vazirmatn, cut to its glyphs.

The page's policy is ``default-src 'none'`` (plus ``font-src 'self'``): it loads no font from
elsewhere, and a visitor's phone may have no Urdu Nastaliq font at all (it showed empty boxes).
So the node serves the fonts itself, subset with fontTools to the characters the page can show
in that language: its catalogue strings (context ``public``), weekday and side names, digits
(Latin and Persian), punctuation and every crossing's and market's name, and a small Latin
font for the codes and times on the page (PKT, 08:00).

Cut at build time (``python -m sarhad.web.public_fonts``, run by scripts/build-frontend.sh
after it copies the console's fonts from npm: @fontsource/noto-nastaliq-urdu, vazirmatn), not
at start: cutting Nastaliq with its layout closure took ~35 s of CPU here, too slow for a node's
start or a first visitor. The glyphs come from the packaged border profile's names; a site with
another profile re-runs the command (``--profile``). Urdu comes in one weight (bold is
synthesised): Nastaliq's bold would double the largest file for a few headings.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from sarhad.border import BorderProfile
from sarhad.core.i18n import entries, translations

FONTS = Path(__file__).parent / "static" / "vendor" / "fonts"
#: Always in: digits (Latin, Persian, Arabic-Indic), punctuation, joiners (bidi marks are not
#: drawn: they need no glyph).
COMMON = "0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩ .,:;()/–-—·،؛؟۔٫٬\u200c\u200d"
LATIN = "".join(chr(c) for c in range(0x20, 0x7F)) + "–—·"


@dataclass(frozen=True)
class Face:
    """One served font: its CSS family and weight, the source file, and what it covers."""

    name: str  # the file served: /public/fonts/<name>.woff2
    family: str
    weight: int
    source: str  # file stem under static/vendor/fonts
    lang: str | None  # the language whose words it carries (None: the Latin font)


FACES = (
    Face("urdu-400", "Sarhad Urdu", 400, "noto-nastaliq-urdu-arabic-400-normal", "ur"),
    Face("persian-400", "Sarhad Persian", 400, "vazirmatn-arabic-400-normal", "fa"),
    Face("persian-700", "Sarhad Persian", 700, "vazirmatn-arabic-700-normal", "fa"),
    Face("latin-400", "Sarhad Latin", 400, "vazirmatn-latin-400-normal", None),
    Face("latin-700", "Sarhad Latin", 700, "vazirmatn-latin-700-normal", None),
)
BY_NAME = {f.name: f for f in FACES}


def page_text(lang: str, profile: BorderProfile) -> str:
    """Every character the public page can show in ``lang`` (besides ``COMMON``)."""
    t = translations(lang)
    words = [t.pgettext("public", msgid) for context, msgid in entries() if context == "public"]
    names = [p.name(lang) for p in [*profile.crossings, *profile.markets]]
    # The language switch names each language in itself, on every page.
    return "".join([*words, *names, "اردو", "فارسی"])


OUT = FONTS / "public"


def cut(face: Face, profile: BorderProfile) -> bytes:
    """The subset WOFF2 file of ``face`` for this profile."""
    text = LATIN if face.lang is None else page_text(face.lang, profile) + COMMON
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]  # Nastaliq's joining and positioning need all of them
    options.name_IDs = ["*"]
    options.notdef_outline = True
    source = TTFont(FONTS / f"{face.source}.woff2")
    cutter = subset.Subsetter(options)
    cutter.populate(text=text)
    cutter.subset(source)
    out = io.BytesIO()
    source.flavor = "woff2"
    source.save(out)
    return out.getvalue()


def build(profile: BorderProfile, out: Path = OUT) -> dict[str, int]:
    """Cut every face into ``out``; the size in bytes of each file."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for face in FACES:
        data = cut(face, profile)
        (out / f"{face.name}.woff2").write_bytes(data)
        sizes[face.name] = len(data)
    return sizes


@functools.cache
def font(name: str) -> bytes | None:
    """The served file ``name`` (one of FACES), or None if the build has not cut it."""
    path = OUT / f"{name}.woff2"
    return path.read_bytes() if name in BY_NAME and path.is_file() else None


def font_faces() -> str:
    """The ``@font-face`` rules of the served fonts (prepended to the page's stylesheet)."""
    return "".join(
        f'@font-face {{ font-family: "{f.family}"; font-weight: {f.weight}; '
        f'font-display: swap; src: url("fonts/{f.name}.woff2") format("woff2"); }}\n'
        for f in FACES
    )


def main() -> None:
    """``python -m sarhad.web.public_fonts [--profile FILE]``: cut the fonts, print sizes."""
    import argparse

    from sarhad.border import load_profile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--profile", type=Path, default=None, help="border profile (TOML)")
    args = parser.parse_args()
    profile = load_profile(args.profile) if args.profile else load_profile()
    for name, size in build(profile).items():
        print(f"public font {name}.woff2: {size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
