"""The incident vocabulary for this border (recognisable to ACLED, UCDP and EUROSUR users)."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What happened; smuggling interdictions split by commodity, as agencies count them."""

    ARMED_ATTACK = "armed_attack"
    ARMED_CLASH = "armed_clash"
    EXPLOSION_IED = "explosion_ied"
    CROSS_BORDER_FIRE = "cross_border_fire"
    SMUGGLING_NARCOTICS = "smuggling_narcotics"
    SMUGGLING_FUEL = "smuggling_fuel"
    SMUGGLING_WEAPONS = "smuggling_weapons"
    SMUGGLING_GOODS = "smuggling_goods"
    ILLEGAL_CROSSING = "illegal_crossing"
    KIDNAPPING = "kidnapping"
    CROSSING_CLOSURE_PROTEST = "crossing_closure_protest"
    INFRASTRUCTURE_ATTACK = "infrastructure_attack"
    OTHER = "other"


class Status(StrEnum):
    """Lifecycle: draft → submitted → validated → closed (submitted may go back to draft)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    CLOSED = "closed"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED}),
    Status.SUBMITTED: frozenset({Status.VALIDATED, Status.DRAFT}),
    Status.VALIDATED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class DatePrecision(StrEnum):
    """How exactly the time is known (ACLED time_precision / UCDP date_prec)."""

    EXACT = "exact"  # to the minute
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class LocationPrecision(StrEnum):
    """How exactly the place is known (after UCDP where_prec)."""

    EXACT = "exact"  # the spot itself
    NEAR = "near"  # within about 25 km of the point
    DISTRICT = "district"  # second-order administrative area
    PROVINCE = "province"  # first-order administrative area
    BORDER = "border"  # somewhere along the border (a linear feature)
    COUNTRY = "country"


class Commodity(StrEnum):
    """What was seized."""

    HASHISH = "hashish"
    HEROIN = "heroin"
    OPIUM = "opium"
    METHAMPHETAMINE = "methamphetamine"
    OTHER_NARCOTICS = "other_narcotics"
    DIESEL = "diesel"
    PETROL = "petrol"
    OTHER_FUEL = "other_fuel"
    FIREARMS = "firearms"
    AMMUNITION = "ammunition"
    EXPLOSIVES = "explosives"
    VEHICLES = "vehicles"
    LIVESTOCK = "livestock"
    CURRENCY = "currency"
    GOODS = "goods"
    OTHER = "other"


class Unit(StrEnum):
    """Units of a seized quantity."""

    G = "g"
    KG = "kg"
    T = "t"
    L = "l"
    M3 = "m3"
    ITEMS = "items"
    ROUNDS = "rounds"
    HEAD = "head"
    PKR = "PKR"
    IRR = "IRR"
    USD = "USD"


_MASS = frozenset({Unit.G, Unit.KG, Unit.T})
_VOLUME = frozenset({Unit.L, Unit.M3})
_MONEY = frozenset({Unit.PKR, Unit.IRR, Unit.USD})

#: Which units make sense for which commodity: "12 rounds of diesel" is a typing error.
UNITS_FOR: dict[Commodity, frozenset[Unit]] = {
    Commodity.HASHISH: _MASS,
    Commodity.HEROIN: _MASS,
    Commodity.OPIUM: _MASS,
    Commodity.METHAMPHETAMINE: _MASS | {Unit.ITEMS},
    Commodity.OTHER_NARCOTICS: _MASS | {Unit.ITEMS, Unit.L},
    Commodity.DIESEL: _VOLUME | _MASS,
    Commodity.PETROL: _VOLUME | _MASS,
    Commodity.OTHER_FUEL: _VOLUME | _MASS,
    Commodity.FIREARMS: frozenset({Unit.ITEMS}),
    Commodity.AMMUNITION: frozenset({Unit.ROUNDS, Unit.ITEMS, Unit.KG}),
    Commodity.EXPLOSIVES: _MASS | {Unit.ITEMS},
    Commodity.VEHICLES: frozenset({Unit.ITEMS}),
    Commodity.LIVESTOCK: frozenset({Unit.HEAD}),
    Commodity.CURRENCY: _MONEY,
    Commodity.GOODS: _MASS | _VOLUME | {Unit.ITEMS} | _MONEY,
    Commodity.OTHER: frozenset(Unit),
}

RELIABILITY = ("A", "B", "C", "D", "E", "F")
"""Admiralty source reliability: A completely reliable … E unreliable, F cannot be judged."""

CREDIBILITY = ("1", "2", "3", "4", "5", "6")
"""Admiralty information credibility: 1 confirmed … 5 improbable, 6 cannot be judged."""

SIDES = ("PK", "IR")


#: Families of related categories: two sides often file one event under neighbouring
#: categories (a clash reported as an attack, narcotics as goods). Links match categories of
#: one family with a penalty (incidents.links); categories in no family match only themselves.
FAMILIES: dict[str, frozenset[Category]] = {
    "violence": frozenset(
        {
            Category.ARMED_ATTACK,
            Category.ARMED_CLASH,
            Category.EXPLOSION_IED,
            Category.CROSS_BORDER_FIRE,
            Category.INFRASTRUCTURE_ATTACK,
            Category.KIDNAPPING,
        }
    ),
    "smuggling": frozenset(
        {
            Category.SMUGGLING_NARCOTICS,
            Category.SMUGGLING_FUEL,
            Category.SMUGGLING_WEAPONS,
            Category.SMUGGLING_GOODS,
        }
    ),
    "irregular_crossing": frozenset({Category.ILLEGAL_CROSSING}),
    "protest": frozenset({Category.CROSSING_CLOSURE_PROTEST}),
}


def family_of(category: str) -> str | None:
    """The family a category belongs to, or None (``other``).

    >>> family_of("armed_clash"), family_of("smuggling_goods"), family_of("other")
    ('violence', 'smuggling', None)
    """
    return next((name for name, members in FAMILIES.items() if category in members), None)


#: Seized quantities in one base unit per dimension, so 0.5 t and 480 kg compare. Currencies
#: have no fixed rate between them: each is its own dimension.
UNIT_BASE: dict[Unit, tuple[str, float]] = {
    Unit.G: ("mass", 0.001),
    Unit.KG: ("mass", 1.0),
    Unit.T: ("mass", 1000.0),
    Unit.L: ("volume", 1.0),
    Unit.M3: ("volume", 1000.0),
    Unit.ITEMS: ("items", 1.0),
    Unit.ROUNDS: ("rounds", 1.0),
    Unit.HEAD: ("head", 1.0),
    Unit.PKR: ("PKR", 1.0),
    Unit.IRR: ("IRR", 1.0),
    Unit.USD: ("USD", 1.0),
}

#: Commodities one side may name differently (heroin reported as opium, diesel as fuel).
COMMODITY_FAMILIES: tuple[frozenset[Commodity], ...] = (
    frozenset(
        {
            Commodity.HASHISH,
            Commodity.HEROIN,
            Commodity.OPIUM,
            Commodity.METHAMPHETAMINE,
            Commodity.OTHER_NARCOTICS,
        }
    ),
    frozenset({Commodity.DIESEL, Commodity.PETROL, Commodity.OTHER_FUEL}),
    frozenset({Commodity.FIREARMS, Commodity.AMMUNITION, Commodity.EXPLOSIVES}),
)
