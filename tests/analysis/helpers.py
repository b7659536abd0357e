"""Helpers of the risk tests: the fixed "as of" moment and incidents at a chosen km marker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from sarhad.border import BorderProfile
from sarhad.incidents.schemas import IncidentIn

#: Every risk test asks "as of" this moment, so results do not depend on the clock.
AT = datetime(2025, 1, 1, tzinfo=UTC)

AddIncident = Callable[..., str]

#: About 460 km from the line: only a record marked far_from_line may lie there, and it then
#: has no km marker or sector at all.
QUETTA = (66.99, 30.18)
#: About 70 km from the line: within the node's limit, beyond risk's default 50 km.
TURBAT = (63.05, 26.0)


def on_line(profile: BorderProfile, km: float) -> tuple[float, float]:
    """lon/lat of the point ``km`` along the border line."""
    lon, lat = profile.polyline.lonlat_at_km(np.array([km]))
    return float(lon[0]), float(lat[0])


def data(
    profile: BorderProfile,
    *,
    km: float | None = None,
    where: tuple[float, float] | None = None,
    category: str = "armed_attack",
    days_ago: float = 10.0,
    killed: int = 0,
    injured: int = 0,
    far_from_line: bool = False,
) -> IncidentIn:
    lon, lat = where or on_line(profile, km if km is not None else 400.0)
    return IncidentIn.model_validate(
        {
            "title": f"{category} at km {km}",
            "category": category,
            "occurred_at": (AT - timedelta(days=days_ago)).isoformat(),
            "location": {"lon": lon, "lat": lat, "precision": "exact"},
            "reporting_side": "PK",
            "casualties": {"security_forces": {"killed": killed, "injured": injured}},
            "far_from_line": far_from_line,
        }
    )
