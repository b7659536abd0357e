"""The border room: the border profile (line, sectors, crossings, markets, posts) and locate.

>>> from sarhad.border import load_profile
>>> profile = load_profile()
>>> profile.locate(60.8629, 29.4963).side  # Zahedan
'IR'
"""

from sarhad.border.locate import LocatedArrays, Location
from sarhad.border.model import Place, Sector
from sarhad.border.profile import BorderProfile, load_profile, profile_from_settings

__all__ = [
    "BorderProfile",
    "LocatedArrays",
    "Location",
    "Place",
    "Sector",
    "load_profile",
    "profile_from_settings",
]
