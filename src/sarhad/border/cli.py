"""``sarhad border ...``: look at the border profile and locate points on it.

The root CLI mounts this with ``root.add_typer(border_cli.app, name="border")``. Commands are
thin: load the profile (settings, ``--profile`` overrides), call the room's API, print.
Exit codes: 0 ok, 1 configuration/data problem, 2 bad input (message on stderr, no traceback).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sarhad.border.profile import BorderProfile, cached_profile
from sarhad.core.config import load_settings
from sarhad.core.console import language as console_language
from sarhad.core.errors import FieldError, InvalidInput, SarhadError
from sarhad.core.i18n import Number, message

app = typer.Typer(
    help="The border profile (line, sectors, crossings, markets, posts) and locate.",
    no_args_is_help=True,
)


class Lang(StrEnum):
    en = "en"
    ur = "ur"
    fa = "fa"


ProfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        help="Border profile folder (default: SARHAD_PROFILE_DIR, else the shipped PK–IR one).",
    ),
]
SectorOpt = Annotated[
    float | None,
    typer.Option("--sector-length-km", help="Sector length in km (default: the profile's)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of names.")]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the room's expected errors into a message on stderr and an exit code."""
    try:
        yield
    except SarhadError as exc:
        lang = console_language()  # worded as every command words its errors
        typer.echo(f"Error: {exc.in_(lang)}", err=True)
        if hint := exc.hint_in(lang):
            typer.echo(f"Hint: {hint}", err=True)
        raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from None


def _profile(profile_dir: Path | None, sector_length_km: float | None) -> BorderProfile:
    settings = load_settings()
    path = profile_dir if profile_dir is not None else settings.profile_dir
    length = sector_length_km if sector_length_km is not None else settings.sector_length_km
    return cached_profile(path, sector_length_km=length, max_km_from_line=settings.max_km_from_line)


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
def info(
    json_out: JsonOpt = False,
    profile: ProfileOpt = None,
    sector_length_km: SectorOpt = None,
    lang: LangOpt = Lang.en,
) -> None:
    """Length of the line, sectors, crossings, markets and posts."""
    with _user_errors():
        p = _profile(profile, sector_length_km)
        data = p.info(lang.value)
        if json_out:
            _echo_json(data)
            return
        console = Console()
        console.print(f"[bold]{data['name']}[/bold] (profile {p.id}, sides {' / '.join(p.sides)})")
        console.print(f"Length (WGS84 geodesic, Natural Earth line): {p.length_km:.1f} km")
        first, last = p.sectors[0], p.sectors[-1]
        console.print(
            f"Sectors: {len(p.sectors)} × {p.sector_length_km:g} km "
            f"({first.id} … {last.id}; the last is {last.length_km:.2f} km)"
        )
        table = Table(title="Crossings, markets and posts")
        for col in ("kind", "id", "name", "lon", "lat", "sector", "km"):
            table.add_column(col)
        for place in p.places:
            loc = p.locate(place.lon, place.lat)
            table.add_row(
                place.kind,
                place.id,
                place.name(lang.value),
                f"{place.lon:.5f}",
                f"{place.lat:.5f}",
                loc.sector,
                f"{loc.km:.1f}",
            )
        console.print(table)


@app.command(context_settings={"ignore_unknown_options": True})
def locate(
    lon: Annotated[float, typer.Argument(help="Longitude, decimal degrees (-180..180).")],
    lat: Annotated[float, typer.Argument(help="Latitude, decimal degrees (-90..90).")],
    json_out: JsonOpt = False,
    lang: LangOpt = Lang.en,
    profile: ProfileOpt = None,
    sector_length_km: SectorOpt = None,
) -> None:
    """Place a point on the border: side, distance to the line, sector, km, nearest crossing.

    Negative coordinates work as they are: ``sarhad border locate -5.0 40.0``. A point
    farther from the line than the node's limit gets no sector (records there need the
    far_from_line mark); when only the swapped reading is near the line, it says so.
    """
    with _user_errors():
        p = _profile(profile, sector_length_km)
        swap = p.swap_hint(lon, lat)
        if swap is not None:
            hint = message(
                "border.swap.command",
                "{hint}: sarhad border locate {lat} {lon}",
                hint=swap,
                lat=f"{lat:g}",
                lon=f"{lon:g}",
            )
            if abs(lat) > 90:
                raise InvalidInput(
                    FieldError.of(
                        "lat",
                        message(
                            "border.out_of_range",
                            "must be between {least} and {most}, got {value}",
                            least=Number("-90"),
                            most=Number("90"),
                            value=Number(f"{lat:g}"),
                        ),
                    ),
                    hint=hint,
                )
            typer.echo(f"Note: {hint}", err=True)
        loc = p.locate(lon, lat)
        beyond = p.is_beyond_limit(loc)
        data = p.location_dict(loc, lang.value)
        if json_out:
            _echo_json(data)
            return
        crossing = data["nearest_crossing"]
        assert isinstance(crossing, dict)
        console = Console()
        console.print(f"Side:              {loc.side}")
        console.print(f"Distance to line:  {loc.distance_m:,.1f} m")
        if beyond:
            console.print(f"Sector:            none (beyond the {p.max_km_from_line:g} km limit)")
        else:
            sector = p.sector(loc.sector)
            console.print(
                f"Sector:            {loc.sector} (km {sector.start_km:.1f}–{sector.end_km:.1f})"
            )
            console.print(f"Km marker:         {loc.km:.3f} km from the start of the line")
        console.print(
            f"Nearest crossing:  {crossing['name']} ({loc.nearest_crossing}), "
            f"{loc.nearest_crossing_distance_m:,.1f} m"
        )


@app.command()
def sectors(
    json_out: JsonOpt = False,
    geojson: Annotated[
        bool, typer.Option("--geojson", help="Print the sectors as a GeoJSON FeatureCollection.")
    ] = False,
    profile: ProfileOpt = None,
    sector_length_km: SectorOpt = None,
) -> None:
    """List the sectors: id, number, start and end km."""
    with _user_errors():
        p = _profile(profile, sector_length_km)
        if geojson:
            fc = p.to_geojson()
            features = fc["features"]
            assert isinstance(features, list)
            kept = [f for f in features if f["properties"]["kind"] == "sector"]
            _echo_json({"type": "FeatureCollection", "features": kept})
            return
        rows = [
            {
                "id": s.id,
                "number": s.number,
                "start_km": round(s.start_km, 3),
                "end_km": round(s.end_km, 3),
                "length_km": round(s.length_km, 3),
            }
            for s in p.sectors
        ]
        if json_out:
            _echo_json(rows)
            return
        table = Table(title=f"{p.name()}: {len(rows)} sectors")
        for col in ("id", "number", "start_km", "end_km", "length_km"):
            table.add_column(col, justify="right" if col != "id" else "left")
        for r in rows:
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()))
        Console().print(table)


@app.command()
def export(
    geojson: Annotated[
        Path, typer.Option("--geojson", help="File to write the RFC 7946 GeoJSON to.")
    ],
    lang: LangOpt = Lang.en,
    profile: ProfileOpt = None,
    sector_length_km: SectorOpt = None,
) -> None:
    """Write the line, sectors, crossings, markets and posts as GeoJSON."""
    with _user_errors():
        p = _profile(profile, sector_length_km)
        fc = p.to_geojson(lang.value)
        try:
            geojson.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            typer.echo(f"Error: cannot write {geojson}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None
        features = fc["features"]
        assert isinstance(features, list)
        typer.echo(f"Wrote {len(features)} features to {geojson}", err=True)
