"""Languages of the web console: the Jinja environments over core's one catalogue.

The catalogue and its loader are in ``sarhad.core.i18n`` (services word their errors and
reasons from it too); the ``.po`` files stay under ``translations/`` here. To add or change a
string: mark it (``_("...")`` in a template, ``N_("...")`` in Python; a coded message
``message("code", "English {x}", x=...)``), then from ``src/sarhad``::

    pybabel extract -F babel.cfg -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d web/translations   # or edit the area's .po file
    # translate every new msgid in web/translations/{ur,fa}/LC_MESSAGES/*.po

tests/web/test_i18n.py fails while any string lacks an Urdu or Persian translation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request

from sarhad.core.i18n import (
    DEFAULT,
    LANGUAGES,
    N_,
    PSEUDO,
    RTL,
    compile_catalog,
    digits,
    from_json,
    translations,
)
from sarhad.core.i18n import say as core_say

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "PSEUDO",
    "RTL",
    "compile_catalog",
    "digits",
    "translations",
]

HERE = Path(__file__).parent
TRANSLATIONS = HERE / "translations"
TEMPLATES = HERE / "templates"
LANG_COOKIE = "sarhad_lang"


@functools.cache
def environments() -> dict[str, jinja2.Environment]:
    """One Jinja2 environment per language (and the test pseudo-locale), each with its catalog."""
    envs = {}
    for lang in [*LANGUAGES, PSEUDO]:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        env.globals["say"] = functools.partial(say, lang=lang)
        envs[lang] = env
    return envs


def say(value: Any, lang: str) -> str:
    """A coded message (a ``Text``, or its JSON ``{"code", "params"}``) worded in ``lang``;
    any other value as written (a record's own text)."""
    if isinstance(value, Mapping) and isinstance(value.get("code"), str):
        coded = from_json(value)
        return coded.in_(lang) if coded is not None else str(value)
    return core_say(value, lang)


def gettext_for(lang: str) -> Callable[[str], str]:
    """Translate one string into ``lang`` (for text built in Python, e.g. JSON for scripts)."""
    return translations(lang).gettext


def choose(request: Request) -> tuple[str, bool]:
    """The language for this request and whether it was just switched (``?lang=``).

    ``qps`` (the pseudo-locale) is accepted only by ``?lang=`` and never remembered: tests use it.
    """
    asked = request.query_params.get("lang")
    if asked in LANGUAGES or asked == PSEUDO:
        return asked, asked != PSEUDO
    kept = request.cookies.get(LANG_COOKIE)
    return (kept if kept in LANGUAGES else DEFAULT), False


def direction(lang: str) -> str:
    """``rtl`` for Urdu and Persian, else ``ltr``."""
    return "rtl" if lang in RTL else "ltr"
