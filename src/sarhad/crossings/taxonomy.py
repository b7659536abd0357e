"""The crossings vocabulary: statuses, reasons, trade commodities, units and currencies."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """What a side declares about its gate."""

    OPEN = "open"
    RESTRICTED = "restricted"  # open for some traffic only (e.g. trucks, or residents)
    CLOSED = "closed"


class Reason(StrEnum):
    """Why a status was declared (the category; any detail goes in the note)."""

    SECURITY_INCIDENT = "security_incident"
    PROTEST = "protest"
    POLICY_DECISION = "policy_decision"
    HOLIDAY = "holiday"
    WEATHER = "weather"
    MAINTENANCE = "maintenance"
    OTHER = "other"


#: Why a gate is shut when no declaration covers the moment: outside its regular hours.
OUTSIDE_HOURS = "outside_hours"

#: The origin of our own rows (a partner's rows carry ``partner:<name>``).
LOCAL = "local"


class Commodity(StrEnum):
    """Goods traded across a crossing or sold at a border market (fuel has its own field)."""

    LPG = "lpg"
    FOOD_STAPLES = "food_staples"  # flour, rice, sugar, cooking oil
    FRUIT_VEGETABLES = "fruit_vegetables"
    DATES = "dates"
    FISH = "fish"
    LIVESTOCK = "livestock"
    CONSTRUCTION = "construction"  # cement, steel, tiles
    TEXTILES = "textiles"
    HOUSEHOLD = "household"
    ELECTRICITY_EQUIPMENT = "electrical_equipment"
    CHEMICALS = "chemicals"
    OTHER = "other"


class Unit(StrEnum):
    """Units of a traded quantity."""

    KG = "kg"
    T = "t"
    L = "l"
    M3 = "m3"
    HEAD = "head"
    ITEMS = "items"


_MASS = frozenset({Unit.KG, Unit.T})
_VOLUME = frozenset({Unit.L, Unit.M3})

#: Which units make sense for which commodity: "12 head of cement" is a typing error.
UNITS_FOR: dict[Commodity, frozenset[Unit]] = {
    Commodity.LPG: _MASS | _VOLUME,
    Commodity.FOOD_STAPLES: _MASS,
    Commodity.FRUIT_VEGETABLES: _MASS,
    Commodity.DATES: _MASS,
    Commodity.FISH: _MASS,
    Commodity.LIVESTOCK: frozenset({Unit.HEAD}),
    Commodity.CONSTRUCTION: _MASS | {Unit.ITEMS},
    Commodity.TEXTILES: _MASS | {Unit.ITEMS},
    Commodity.HOUSEHOLD: _MASS | {Unit.ITEMS},
    Commodity.ELECTRICITY_EQUIPMENT: _MASS | {Unit.ITEMS},
    Commodity.CHEMICALS: _MASS | _VOLUME,
    Commodity.OTHER: frozenset(Unit),
}


class Currency(StrEnum):
    """Currencies of declared values, kept as given (never converted)."""

    PKR = "PKR"
    IRR = "IRR"


#: Litres per unit of fuel volume (fuel throughput is kept in litres).
LITRES = {Unit.L: 1.0, Unit.M3: 1000.0}

#: Days of the week as stored (ISO order, Monday first), with their English short names.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
