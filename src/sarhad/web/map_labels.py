"""The strings the situation map's script (static/js/map.js) shows, in the page's language.

map.js reads them from the page's ``<script type="application/json" id="i18n">`` block by key
(``t("summary", ...)``); every key it asks for is here, so an Urdu or Persian page never falls
back to the script's English. Names of codes go under the prefix the script uses
(``category_<code>``, ``lifecycle_<incident status>``, ``status_<crossing status>``,
``level_<impact>``, ``side_<code>``, ``reason_<crossing reason>``).

Counts have plural forms: ``plural_<key>`` holds the forms by CLDR category ("one",
"other"), filled from the catalogue with ``ngettext``; map.js picks one with
``Intl.PluralRules`` of the page's language and puts the (localised) numbers in place.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sarhad.web import i18n
from sarhad.web.i18n import N_
from sarhad.web.labels import LABELS

if TYPE_CHECKING:
    from sarhad.border.profile import BorderProfile

#: key → English text of every plain string map.js shows.
MAP_STRINGS: dict[str, str] = {
    "map_label": N_("Map"),
    "zoom_in": N_("Zoom in"),
    "zoom_out": N_("Zoom out"),
    "layer_sectors": N_("Sectors (impact level)"),
    "layer_crossings": N_("Crossings and markets"),
    "layer_incidents": N_("Our incidents"),
    "layer_partner_incidents": N_("Partner's incidents"),
    "layer_posts": N_("Posts"),
    "layer_places": N_("Place names"),
    "sector_n": N_("Sector {n}"),
    "km_range": N_("km"),
    "impact_level": N_("Impact level"),
    "risk_score": N_("Score"),
    "incidents_counted": N_("Incidents counted"),
    "not_known": N_("nothing received yet"),
    "open_page": N_("Open page"),
    "until": N_("Until"),
    "next_opening": N_("Next opening"),
    "from_partner": N_("from the partner"),
    "category": N_("Category"),
    "occurred_at": N_("Occurred"),
    "side": N_("Side"),
    "sector": N_("Sector"),
    "origin": N_("Origin"),
    "tlp": N_("TLP"),
    "open_record": N_("Open record"),
    "loading_record": N_("Loading…"),
    "loading": N_("Loading incidents…"),
    "loading_n": N_("Loading incidents… {n}"),
    "load_error": N_("Could not load the incidents: {error}"),
    # The legend.
    "legend": N_("Legend"),
    "legend_ours": N_("Our incident"),
    "legend_partner": N_("Incident from the partner"),
    "legend_cluster": N_("Group of our incidents (number inside)"),
    "legend_partner_cluster": N_("Group of the partner's incidents"),
    "legend_crossing": N_("Crossing (colour: status)"),
    "legend_market": N_("Border market"),
    "legend_mismatch": N_("The two sides disagree"),
    "legend_impact": N_("Sector impact level"),
    "legend_line": N_("Border line"),
    "legend_outside": N_("Other countries and the sea (not drawn)"),
    "legend_town": N_("Town"),
}


def _plurals(lang: str) -> dict[str, dict[str, str]]:
    """Each count line in its plural forms ("one" for 1, "other" for 2), per the catalogue."""
    t = i18n.translations(lang)
    forms: dict[str, dict[str, str]] = {}
    for n, category in ((1, "one"), (2, "other")):
        forms.setdefault("summary", {})[category] = t.ngettext(
            "{shown} incident shown", "{shown} incidents shown", n
        )
        forms.setdefault("summary_partner", {})[category] = t.ngettext(
            "{shown} incident shown, {partner} of them from the partner",
            "{shown} incidents shown, {partner} of them from the partner",
            n,
        )
    return forms


def map_strings(lang: str) -> str:
    """The page's #i18n JSON block for map.js (``<`` escaped: it sits in a script element)."""
    tr = i18n.gettext_for(lang)
    strings: dict[str, object] = {key: tr(text) for key, text in MAP_STRINGS.items()}
    for group, prefix in (
        ("category", "category_"),
        ("incident_status", "lifecycle_"),
        ("crossing_status", "status_"),
        ("impact", "level_"),
        ("side", "side_"),
        ("reason", "reason_"),
    ):
        strings.update({f"{prefix}{k}": tr(v) for k, v in LABELS[group].items()})
    strings.update({f"plural_{k}": v for k, v in _plurals(lang).items()})
    return json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c")


def towns_json(profile: BorderProfile, lang: str) -> str:
    """The twin towns of the profile's crossings (``<side>_town`` keys) as map labels.

    The border GeoJSON carries only the crossing points; the towns beside them are what an
    officer finds a place by, so the map writes their names on the land.
    """
    towns: dict[tuple[float, float], dict[str, object]] = {}
    for place in profile.places:
        for side in profile.sides:
            town = place.extra.get(f"{side.lower()}_town")
            if not isinstance(town, dict) or "lon" not in town or "lat" not in town:
                continue
            lon, lat = float(town["lon"]), float(town["lat"])
            name = str(town.get(lang) or town.get("en") or "")
            if name:
                towns[(lon, lat)] = {"name": name, "side": side, "lon": lon, "lat": lat}
    return json.dumps(list(towns.values()), ensure_ascii=False).replace("<", "\\u003c")
