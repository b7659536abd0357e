"""Border routes under /api/v1/border: the profile as GeoJSON, sectors, and locate."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from sarhad.border.api import node
from sarhad.core.api import require, responses
from sarhad.core.auth import Permission, Principal

router = APIRouter(prefix="/border", tags=["border"])

Reader = Annotated[Principal, Depends(require(Permission.BORDER_READ))]
Lang = Literal["en", "ur", "fa"]


@router.get("", responses=responses(422))
def profile_geojson(
    request: Request, _actor: Reader, lang: Lang = "en", countries: bool = False
) -> dict[str, Any]:
    """The profile as RFC 7946 GeoJSON: line, sectors, places (``countries``: each side too)."""
    return node(request).profile.to_geojson(lang=lang, countries=countries)


@router.get("/info")
def info(request: Request, _actor: Reader) -> dict[str, Any]:
    """Length, sector count and the places of the profile."""
    return node(request).profile.info()


@router.get("/sectors")
def sectors(request: Request, _actor: Reader) -> list[dict[str, Any]]:
    """Every sector with its km range, from the tripoint southwards."""
    return [
        {"id": s.id, "number": s.number, "start_km": s.start_km, "end_km": s.end_km}
        for s in node(request).profile.sectors
    ]


@router.get("/locate", responses=responses(422))
def locate(
    request: Request,
    _actor: Reader,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lang: Lang = "en",
) -> dict[str, Any]:
    """Side, distance to the line, sector, km marker and nearest crossing for one point.

    Farther from the line than the node's limit, sector and km are null and
    ``beyond_km_from_line`` gives the limit.
    """
    profile = node(request).profile
    return profile.location_dict(profile.locate(lon, lat), lang=lang)
