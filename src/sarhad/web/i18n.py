"""Languages of the web console: gettext catalogs (Babel) compiled in memory at start-up.

The ``.po`` files under ``translations/`` are the source; no ``.mo`` build step is needed.
To add or change a string: mark it (``_("...")`` in a template, ``N_("...")`` in Python),
then from ``src/sarhad/web``::

    pybabel extract -F babel.cfg -o messages.pot .
    pybabel update -i messages.pot -d translations
    # translate every new msgid in translations/{ur,fa}/LC_MESSAGES/messages.po

tests/web/test_i18n.py fails while any string lacks an Urdu or Persian translation.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable
from pathlib import Path

import jinja2
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request

HERE = Path(__file__).parent
TRANSLATIONS = HERE / "translations"
TEMPLATES = HERE / "templates"
LANGUAGES: dict[str, str] = {"en": "English", "ur": "اردو", "fa": "فارسی"}
RTL = frozenset({"ur", "fa"})
DEFAULT = "en"
LANG_COOKIE = "sarhad_lang"


def N_(message: str) -> str:  # the gettext name for "translate later"
    """Mark a Python string for extraction; it is translated where it is shown."""
    return message


def compile_catalog(po_path: Path) -> gettext.GNUTranslations:
    """Read one ``.po`` file and compile it in memory."""
    with po_path.open("rb") as f:
        catalog = read_po(f)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English is the source language: no catalog)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    main = compile_catalog(folder / "messages.po")
    # Further catalogs (one per area of the console, e.g. alerts.po) fill in what messages.po
    # lacks, so that people working on different pages never edit the same file.
    for extra in sorted(folder.glob("*.po")):
        if extra.name != "messages.po":
            main.add_fallback(compile_catalog(extra))
    return main


@functools.cache
def environments() -> dict[str, jinja2.Environment]:
    """One Jinja2 environment per language, each with its catalog installed."""
    envs = {}
    for lang in LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        envs[lang] = env
    return envs


def gettext_for(lang: str) -> Callable[[str], str]:
    """Translate one string into ``lang`` (for text built in Python, e.g. JSON for scripts)."""
    return translations(lang).gettext


def choose(request: Request) -> tuple[str, bool]:
    """The language for this request and whether it was just switched (``?lang=``)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked, True
    kept = request.cookies.get(LANG_COOKIE)
    return (kept if kept in LANGUAGES else DEFAULT), False


def direction(lang: str) -> str:
    """``rtl`` for Urdu and Persian, else ``ltr``."""
    return "rtl" if lang in RTL else "ltr"
