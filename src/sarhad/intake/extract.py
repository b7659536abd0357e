"""News text → candidate events, by rules over sentences (no model; see docs/intake.md).

The decomposition follows the automated event coders (NGEC/POLECAT): find the sentences that
report an event and its kind, then read each field from the event's sentences: date, place,
counts by party, seizures. Every value keeps the character span [start, end) of the text
that supports it; a field nothing supports stays empty. Names of people are never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache

import pysbd

from sarhad.intake.numbers import NUMBER, parse_number
from sarhad.intake.places import Place, find_places
from sarhad.intake.times import find_when


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of the article."""

    start: int
    end: int


@dataclass
class Count:
    """A casualty count of one party and one kind, as the text qualifies it."""

    party: str  # security_forces | civilians | assailants
    kind: str  # killed | injured | detained
    low: int | None
    best: int
    high: int | None
    qualifier: str | None
    span: Span  # the supporting sentence


@dataclass
class Seized:
    """One seized commodity with quantity and unit (taxonomy Commodity / Unit)."""

    commodity: str
    quantity: float
    unit: str
    span: Span


@dataclass
class Event:
    """One candidate event of an article (offsets into the article)."""

    kind: str  # incident | crossing
    category: str | None = None
    category_span: Span | None = None
    action: str | None = None  # crossings: opened | closed | reopened | inaugurated
    crossing: str | None = None
    date: str | None = None
    date_precision: str | None = None
    date_span: Span | None = None
    place: Place | None = None
    place_name: str | None = None
    place_span: Span | None = None
    counts: list[Count] = field(default_factory=list)
    seizures: list[Seized] = field(default_factory=list)
    sentences: list[Span] = field(default_factory=list)
    lead: int = 0  # the first ``lead`` sentences only set the scene (before any trigger)


# --- event detection ------------------------------------------------------------------------

_SEIZE = r"(?:seiz|confiscat|recover|intercept|impound|haul|foil|bust|captur|discover)\w*|found"
#: (category, pattern) in priority order: the first that matches a sentence names its kind.
_ARREST = (
    r"arrested|detained|apprehended|nabbed|held|taken into custody|rounded up|arrests?|"
    r"raids?|arrest of"
)
_LINKED = (
    r"involved in|used in|behind|wanted in|in connection with|linked to|responsible for|"
    r"suspected of|accused of|(?:their|his) (?:role|involvement) in"
)
_HARM = r"attacks?|killings?|murders?|bombings?|blasts?|ambush|assassination|abduction"
_TRIGGERS: list[tuple[str, re.Pattern[str]]] = [
    # Arrests of suspects in an earlier attack are not the attack again (gold rule: other).
    (
        "other",
        re.compile(
            rf"\b(?:{_ARREST})\b[^.;]{{0,80}}?\b(?:{_LINKED})\b(?: [\w'-]+){{0,3}}? (?:{_HARM})\b|"
            rf"\b(?:{_LINKED})\b(?: [\w'-]+){{0,3}}? (?:{_HARM})\b[^.;]{{0,60}}?"
            rf"\b(?:were|was|have been|has been|had been) (?:\w+ )?(?:{_ARREST})\b|"
            # "a day after a deadly attack on a bus, police arrested three suspects"
            rf"\b(?:after|following)\b(?: [\w'-]+){{0,3}}? (?:{_HARM})\b[^.;]{{0,80}}?"
            rf"\b(?:arrested|detained|apprehended|nabbed|rounded up)\b",
            re.I,
        ),
    ),
    (
        "smuggling",
        re.compile(
            r"\bsmuggled (?:\w+ ){0,2}(?:diesel|petrol|fuel|hashish|heroin|opium|meth\w*|"
            r"weapons|arms|goods)\b",
            re.I,
        ),
    ),
    (
        "illegal_crossing",
        re.compile(
            r"\b(?:(?:detained|arrested|held) by (?:the )?(?:iranian|pakistani) (?:border )?"
            r"(?:guards|forces|coast ?guards)|(?:iranian|pakistani) (?:border )?"
            r"(?:guards|forces|coast ?guards) (?:detained|arrested|held|took))\b",
            re.I,
        ),
    ),
    (
        "cross_border_fire",
        re.compile(
            r"\b(?:cross-border (?:fire|firing|shelling|attack)|"
            r"(?<!unexploded )mortar (?:shells?|rounds?)|"
            r"fired (?:from|across) (?:across )?the (?:iranian |pakistani |afghan )?border|"
            r"from across the (?:iranian |pakistani |afghan )border|"
            # "killed by Iranian border guards", "firing by Iranian forces"
            r"(?:killed|shot|shot dead|injured|wounded|fired (?:on|at|upon)|firing|fire|shooting) "
            r"by (?:the )?(?:iranian|pakistani) (?:border guards?|guards|forces|troops|soldiers)|"
            r"(?:fired|fire|gunfire|firing|shelling|shots) from across the border|"
            r"mortar shells? (?:fired|landed)|"
            r"under fire (?:\w+ ){0,3}(?:near|along|across|on) the (?:maritime )?border|"
            r"from an? (?:iranian|pakistani) (?:patrol|vessel|boat|post)|"
            r"(?:iranian|pakistani|afghan) (?:border guards?|guards|forces|troops|soldiers) "
            r"(?:opened fire|fired|shot dead|shot at|gunned down)|"
            r"(?:iranian|pakistani) (?:navy |naval |coast ?guard )?(?:vessel|boat|ship|patrol)s? "
            r"(?:opened fire|fired))",
            re.I,
        ),
    ),
    (
        "infrastructure_attack",
        re.compile(
            r"\b(?:pylons?|transmission (?:line|tower)s?|gas pipeline|pipeline|railway track|"
            r"(?:mobile|telecom|communication) towers?|power lines?|bridges?|dams?)\b.{0,80}?"
            r"\b(?:blown up|blew up|set (?:on )?fire|torched|damaged|destroyed|sabotaged)"
            r"|\b(?:blew up|blown up|set (?:on )?fire|torched|sabotaged|damaged|destroyed)\b"
            r".{0,60}?"
            r"\b(?:pylons?|transmission|gas pipeline|pipeline|railway|towers?|power lines?|"
            r"bridges?|dams?)\b"
            r"|\b(?:explosion|blast|fire|attack) (?:at|on) an? (?:\w+ ){0,2}(?:depot|pipeline|"
            r"power station|grid station|pylon|tower|bridge|railway)",
            re.I,
        ),
    ),
    (
        "explosion_ied",
        re.compile(
            r"\b(?:ied|improvised explosive|roadside bomb|bomb(?:ing|s)?|blast|explosions?|"
            r"exploded|went off|unexploded|landmine|land mine|suicide (?:bomber|attack)|"
            r"remote-controlled|"
            r"grenades?)\b",
            re.I,
        ),
    ),
    ("kidnapping", re.compile(r"\b(?:kidnap\w*|abduct\w*|taken hostage|held hostage)", re.I)),
    (
        "crossing_closure_protest",
        re.compile(
            r"\b(?:protest\w*|sit-in|blockade|block(?:ed|ing) (?:the )?(?:road|highway)|"
            r"demonstrat\w+|(?:shutter-?down|wheel-?jam|general) strike|dharna)\b",
            re.I,
        ),
    ),
    (
        "smuggling",
        re.compile(
            rf"\b{_SEIZE}|\b(?:seizure|recovery|recoveries)\b|\bsmuggl\w+ (?:bid|attempt)",
            re.I,
        ),
    ),
    (
        "illegal_crossing",
        re.compile(
            r"\b(?:illegal(?:ly)? (?:cross\w*|entr\w*|enter\w*|migrants?|immigrants?)|"
            r"(?:cross\w*|enter\w*|entr\w*)(?: \w+){0,4}? illegally|"
            r"(?:without|no) (?:valid )?(?:travel )?(?:documents|visas?)|undocumented|"
            r"overst(?:ay|ayed|aying) (?:\w+ )?visas?|"
            r"(?:forged|fake) (?:passports|documents|visas)|"
            r"migrants?|trying to cross|human (?:traffickers?|smugglers?)|people smugglers?|"
            r"(?:send\w*|smuggl\w*|transport\w*)(?: \w+){0,4}? illegally|"
            r"(?:entered|strayed into|crossed into) (?:iranian|pakistani) (?:waters|territory)|"
            r"human (?:smuggling|trafficking))\b",
            re.I,
        ),
    ),
    (
        "armed_clash",
        re.compile(
            r"\b(?:clash\w*|exchange of fire|exchanged fire|gunfight|firefight|encounter|"
            r"shoot-?out|gun battle|intelligence-based operation|ibo|dismantled)\b|"
            # an operation or raid in which fighters were killed (anywhere in the sentence)
            r"^(?=.*\b(?:killed|killing|gunned down|shot dead|neutrali[sz]ed)\b)"
            r"(?=.*\b(?:militants?|terrorists?|insurgents?|attackers?|gunmen|outlaws|"
            r"bandits|rebels)\b).*?\b(?:operation|raid(?:ed|s)?|hideout)\b|"
            # forces killing fighters: "IRGC ground forces killed three members of a team"
            r"\b(?:forces|troops|soldiers|police|irgc|border guards|fc|personnel) "
            r"(?:[\w-]+ ){0,2}?(?:killed|shot dead|gunned down|neutrali[sz]ed) "
            r"(?:[\w-]+ ){0,4}?(?:militants|terrorists|insurgents|members|bandits|rebels|"
            r"attackers|gunmen|outlaws)\b",
            re.I,
        ),
    ),
    (
        "armed_attack",
        re.compile(
            r"\b(?:ambush\w*|attack(?:ed|s|ers)?|opened fire|gunmen|shot dead|stormed|"
            r"shot and (?:killed|wounded|injured)|"
            r"targeted|fired (?:at|on|upon)|assault\w*|gunned down|martyred|hurled|"
            r"heavy fighting|bullet-riddled|bodies (?:\w+ ){0,6}(?:were )?found|firing|"
            r"set fire to|torched|rockets? (?:landed|hit|fired)|"
            r"fired (?:[\w-]+ ){1,2}(?:at|on|upon)|(?:shells?|rockets?|mortars?) fired by)\b",
            re.I,
        ),
    ),
]

_COMMODITIES: list[tuple[str, str, re.Pattern[str]]] = [
    # (category, commodity, pattern)
    ("smuggling_narcotics", "hashish", re.compile(r"\b(?:hashish|hash|charas|cannabis)\b", re.I)),
    ("smuggling_narcotics", "heroin", re.compile(r"\bheroin\b", re.I)),
    ("smuggling_narcotics", "opium", re.compile(r"\bopium\b", re.I)),
    (
        "smuggling_narcotics",
        "methamphetamine",
        re.compile(r"\b(?:crystal meth|methamphetamine|meth|ice)\b", re.I),
    ),
    (
        "smuggling_narcotics",
        "other_narcotics",
        re.compile(r"\b(?:narcotics?|drugs?|morphine)\b", re.I),
    ),
    ("smuggling_fuel", "diesel", re.compile(r"\bdiesel\b", re.I)),
    ("smuggling_fuel", "petrol", re.compile(r"\b(?:petrol|gasoline)\b", re.I)),
    (
        "smuggling_fuel",
        "other_fuel",
        re.compile(r"\b(?:fuel(?! tanks?\b)|(?<!cooking )(?<!edible )oil|lpg)\b", re.I),
    ),
    (
        "smuggling_weapons",
        "ammunition",
        re.compile(r"\b(?:ammunition|rounds|cartridges|bullets)\b", re.I),
    ),
    (
        "smuggling_weapons",
        "explosives",
        re.compile(r"\b(?:explosives?|(?:hand )?grenades|detonators|mortar shells)\b", re.I),
    ),
    (
        "smuggling_weapons",
        "firearms",
        re.compile(
            r"\b(?:weapons?|arms|rifles?|pistols?|kalashnikovs?|firearms?|guns?|rpg|"
            r"rocket launchers?)\b",
            re.I,
        ),
    ),
    (
        "smuggling_goods",
        "goods",
        re.compile(
            r"\b(?:goods|cigarettes|tyres|tires|cloth|electronics|contraband|flour|wheat|sugar|"
            r"rice|cooking oil|edible oil|ghee|tea|fertili[sz]ers?|urea|cement|medicines?|"
            r"cosmetics|liquor|alcohol|"
            r"non-customs[- ]paid|ncp|items)\b",
            re.I,
        ),
    ),
    ("smuggling_goods", "livestock", re.compile(r"\b(?:livestock|sheep|goats|cattle)\b", re.I)),
    (
        "smuggling_goods",
        "vehicles",
        re.compile(r"\b(?:vehicles|pick-?ups|cars|trucks|motorcycles)\b", re.I),
    ),
]

_CROSSING_ACTIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "inaugurated",
        re.compile(
            r"\binaugurat(?:ed|es|ing)\b|\b(?:officially|formally) opened\b|"
            r"\bopened for the first time\b",
            re.I,
        ),
    ),
    ("reopened", re.compile(r"\b(?:reopen\w*|re-open\w*|resum\w*|restored)\b", re.I)),
    # "remained closed" is a state, not the act of closing
    (
        "closed",
        re.compile(
            r"(?<!remained )(?<!remaining )(?<!remains )"
            r"\b(?:clos\w*|shut\w*|suspend\w*|sealed|halted)\b",
            re.I,
        ),
    ),
    ("opened", re.compile(r"\b(?:opened|open(?:s)? (?:its|for)|market day|trading day)\b", re.I)),
]
_CROSSING_NOUN = re.compile(
    r"\b(?:crossings?|border (?:gate|point|terminal|market|bazaar)s?|sarhadi bazaars?|"
    r"border sustenance markets?|"
    # "the Taftan border was closed": the press names the crossing by its town
    r"(?:taftan|mirjaveh|gabd|rimdan|mand|chedgi|pishin)(?:[–-][a-z]+)? border|"
    r"border (?:at|in|near) (?:taftan|mirjaveh|gabd|rimdan|mand|chedgi|pishin)|zero point)\b",
    re.I,
)
#: "the gate", "the market", "trade": a crossing only beside the border or a crossing's town.
_CROSSING_WEAK = re.compile(r"\b(?:gates?|markets?|bazaars?|trade|terminal)\b", re.I)
_CROSSING_PLACE = re.compile(
    r"\b(?:border|taftan|mirjaveh|gabd|rimdan|mand|pishin|chedgi|jiwani)\b", re.I
)
_CROSSING_NAME = re.compile(
    r"\b([A-Z][a-z]+(?:[–-][A-Z][a-z]+))\b|\b(?!(?:The|This|That|A|An|Its|Their)\b)"
    r"([A-Z][a-z]+) (?:border )?"
    r"(?:crossing|gate|terminal|border market|market|bazaar)\b"
)

#: A sentence reporting speech about the future, a visit, a meeting or a court hearing is not
#: an event even when it names one ("talks on how to stop attacks").
_NOT_EVENT = re.compile(
    r"\b(?:will|would(?!-be)|plans? to|vowed|pledged|called for|calls for|urged|demanded|promised|"
    r"should|must|visited|visit|met|meeting|talks|discussed|conference|court|hearing|"
    r"adjourned|forecast|weather|editorial|opinion|condemned|condemns|condemning|resolution|"
    r"proposed|approved|anniversary|"
    r"memorial|seminar|workshop|agreement|memorandum|policy|budget|witnessed|has seen|"
    r"have seen|such attacks|rise in|wave of|spate of|series of|usually|often|generally|"
    r"typically)\b",
    re.I,
)
#: A trend or a tally ("attacks have increased since January"): no event, wherever it stands.
_TREND = re.compile(
    r"\b(?:(?:have|has|had) (?:increased|risen|surged|declined|decreased|doubled)|"
    r"such attacks|rise in|wave of|spate of|since the (?:start|beginning) of|so far this year|"
    r"in the past (?:\w+ )?(?:months|years))\b",
    re.I,
)
_NEW_EVENT = re.compile(
    r"^(?:in (?:a |an )?(?:separate|another|second|unrelated) \w+|separately|elsewhere|"
    r"meanwhile|earlier|later|in a related development|\w+ days? later|the (?:next|following) day)",
    re.I,
)
_OPINION_TITLE = re.compile(
    r"\b(?:editorial|opinion|comment|commentary|analysis|op-ed|column|letter)\b", re.I
)
#: A protest is a crossing_closure_protest only when it is about a crossing, its road or trade.
_PROTEST_ABOUT = re.compile(
    r"\b(?:crossings?|gates?|highway|transporters?|trucks?|closure|border (?:trade|market)s?|"
    r"suspension of trade|trade ban)\b",
    re.I,
)
#: Troops answering an attack: a second act of the same happening (armed_clash).
_RESPONSE = re.compile(
    r"\b(?:responded|returned fire|retaliated|retaliatory|repulsed|counter-?attack\w*|"
    r"ensuing (?:gunfight|exchange of fire|clash|encounter|firefight|shoot-?out|gun battle)|"
    r"(?:gunfight|exchange of fire|clash|encounter|firefight) that followed)\b",
    re.I,
)
#: ... a separate act only when it has its own outcome (gold rule: "that kills attackers").
_OUTCOME = re.compile(
    r"\b(?:kill\w*|dead|injur\w*|wound\w*|arrest\w*|captur\w*|neutrali[sz]\w*|"
    r"eliminat\w*|martyr\w*)\b",
    re.I,
)
#: The dateline ("ZAHEDAN, May 9 (MNA) –", "TURBAT:"): where the report was filed, not the event.
_DATELINE = re.compile(
    r"^\s*[A-Z][A-Za-z .'-]{1,40}?(?:,\s*[^–—:\n]{0,30}?)?(?:\s*\([^)\n]{1,30}\))?"
    r"\s*(?:–|—|:|-{1,2})\s",
    re.M,
)


# --- counts ---------------------------------------------------------------------------------

_PARTIES: list[tuple[str, str]] = [
    (
        "security_forces",
        r"soldiers?|personnel|troops?|policem[ae]n|police(?:men)?|officers?|guards?|"
        r"sepoys?|jawans?|levies|frontier corps|fc|irgc|basij\w*|cops?|officials|"
        r"security (?:forces|men)|servicem[ae]n|constables?",
    ),
    (
        "assailants",
        r"militants?|terrorists?|attackers?|gunmen|insurgents?|smugglers?|suspects?|assailants?|"
        r"bombers?|outlaws|miscreants|traffickers?|dealers?|kidnappers?|rebels?|fighters?|"
        r"criminals?|accused|facilitators?|agents?|members?",
    ),
    (
        "civilians",
        r"civilians?|people|passers-?by|villagers?|labou?rers?|workers?|children|women|men|man|"
        r"woman|child|boy|girl|"
        r"drivers?|passengers?|shopkeepers?|residents?|fishermen|persons?|migrants?|"
        r"nationals?|pilgrims?|travell?ers|members of (?:a|the) family|family members|"
        r"teachers?|students?|farmers?|traders?|citizens?|(?:fuel )?carriers?|crew|sailors?|"
        r"shepherds?|herders?|sons?|daughters?|brothers?|sisters?|relatives?|cousins?|nephews?|"
        r"individuals|youths?|pakistanis|afghans|iranians|bangladeshis|foreigners|immigrants|"
        r"refugees|asylum seekers|deportees",
    ),
]
_KINDS: list[tuple[str, str]] = [
    (
        "killed",
        r"shot and killed|killed|martyred|dead|died|slain|lost (?:their|his|her) li(?:ves|fe)|"
        r"shot dead|"
        r"gunned down|perished|killing|martyring|embraced martyrdom",
    ),
    (
        "injured",
        r"shot and (?:wounded|injured)|injured|wounded|hurt|injuring|wounding|"
        r"(?:sustained|suffered|received) (?:\w+ )?(?:injuries|wounds)",
    ),
    (
        "detained",
        r"arrested|detained|apprehended|held|taken into custody|captured|nabbed|rounded up|"
        r"arresting|detaining|intercepted",
    ),
]
_QUALIFIERS: list[tuple[str, str]] = [
    ("at least", r"at least|no fewer than|no less than|not less than|a minimum of"),
    ("up to", r"up to|as many as|at most|no more than"),
    ("more than", r"more than|over"),
    ("about", r"about|around|nearly|some|approximately|almost|roughly"),
]
_Q = "|".join(p for _, p in _QUALIFIERS)
_PARTY = "|".join(p for _, p in _PARTIES)
_KIND = "|".join(p for _, p in _KINDS)
_AUX = r"were|was|have been|has been|had been|are|got|had|have|has"
#: A word between a number and its party noun: never another number, nor "and".
_FILL = rf"(?: (?!(?:{NUMBER}|and|or)\b)[\w'-]+)"
# "<qualifier> <number> <up to 3 words> <party> (were|have been ...) <kind>"
_COUNT_BEFORE = re.compile(
    rf"\b(?:(?P<q>{_Q}) )?(?P<n>{NUMBER})"
    rf"{_FILL}{{0,4}}? (?P<p>{_PARTY})\b"
    # "Two suspects, residents of Nokkundi, were arrested", "..., aged 19 and 26, were killed"
    rf"(?:(?:,? including [^,.]+,?|, [^,.;]{{1,40}},)? (?:who )?(?:{_AUX})"
    rf"(?: also| reportedly| allegedly| later)?"
    rf"|,? (?:who|that) [^.;]{{0,60}}? (?:{_AUX})(?: also| reportedly| allegedly| later)?)?"
    rf"(?: \w+ly)? (?P<k>{_KIND})\b",
    re.I,
)
# "between three and five terrorists were killed": low 3, best 3 (as ACLED), high 5
_COUNT_RANGE = re.compile(
    rf"\bbetween (?P<n>{NUMBER}) and (?P<n2>{NUMBER}){_FILL}{{0,3}}? (?P<p>{_PARTY})\b"
    rf"(?: (?:{_AUX}))?(?: also| reportedly)?(?: \w+ly)? (?P<k>{_KIND})\b",
    re.I,
)
# "two soldiers and three militants were killed": two counts, one verb
_COUNT_PAIR = re.compile(
    rf"\b(?:(?P<q>{_Q}) )?(?P<n>{NUMBER}){_FILL}{{0,3}}? (?P<p>{_PARTY}),? and "
    rf"(?:(?P<q2>{_Q}) )?(?P<n2>{NUMBER}){_FILL}{{0,3}}? (?P<p2>{_PARTY})"
    rf"(?: (?:{_AUX}))?(?: also| reportedly)? (?P<k>{_KIND})\b",
    re.I,
)
# "<kind>(ing) <qualifier> <number> <up to 3 words> <party>"
_COUNT_AFTER = re.compile(
    # "injuring a woman and two children", "wounded his two sons": the number written counts
    rf"\b(?P<k>{_KIND}) (?:an? [\w'-]+,? and )?(?:(?:his|her|their|its|all) )?"
    rf"(?:(?P<q>{_Q}) )?(?P<n>{NUMBER}){_FILL}{{0,3}}? (?P<p>{_PARTY})\b"
    rf"(?: and (?:(?P<q2>{_Q}) )?(?P<n2>{NUMBER}){_FILL}{{0,3}}? (?P<p2>{_PARTY})\b)?",
    re.I,
)
# "took 12 Pakistani fishermen into custody"
_CUSTODY = re.compile(
    rf"\b(?:took|taken|taking|take) (?:(?P<q>{_Q}) )?(?P<n>{NUMBER}){_FILL}{{0,3}}? "
    rf"(?P<p>{_PARTY}) into custody\b",
    re.I,
)
# "killing two of them", "two others were injured": the party is the last one named before
_ANAPHOR = re.compile(
    rf"\b(?:(?P<k>{_KIND}) (?:(?P<q>{_Q}) )?(?P<n>{NUMBER}) (?:of them|others|more)\b|"
    rf"(?:(?P<q2>{_Q}) )?(?P<n2>{NUMBER}) (?:of them|of whom|others|more)"
    rf"(?: (?:{_AUX}))?(?: also| reportedly)?(?: \w+ly)? (?P<k2>{_KIND})\b)",
    re.I,
)

# --- seizures -------------------------------------------------------------------------------

_UNITS: list[tuple[str, str, float]] = [
    ("kg", r"kilogrammes|kilograms|kilos|kgs?", 1.0),
    ("t", r"tonnes|tons|tonne|ton", 1.0),
    ("g", r"grams|grammes|gm?", 1.0),
    ("l", r"litres|liters|litre|liter|ltrs?|l", 1.0),
    (
        "items",
        r"vehicles|pick-?ups|cars|trucks|boats|speedboats|suvs|jeeps|motorcycles|motorbikes|"
        r"tankers|rifles|weapons|pistols|kalashnikovs|guns|launchers|"
        r"(?:hand )?grenades|detonators",
        1.0,
    ),
    ("rounds", r"rounds|cartridges|bullets", 1.0),
]
_UNIT = "|".join(p for _, p, _ in _UNITS)
_ITEMS = next(p for u, p, _ in _UNITS if u == "items")
_QUANTITY = re.compile(
    rf"\b(?P<n>{NUMBER})(?:[ -]| of )?(?P<u>{_UNIT})\b"
    # "five pick-up trucks", "14 Kalashnikov rifles", "35 non-custom-paid vehicles": counted
    # things may carry up to two words between the number and the noun
    rf"|\b(?P<n2>{NUMBER})(?: (?!(?:{NUMBER}|and|or|of)\b)[\w-]+){{1,2}} (?P<u2>{_ITEMS})\b",
    re.I,
)
_VEHICLE_WORDS = (
    "vehicles",
    "pickups",
    "pick-ups",
    "cars",
    "trucks",
    "boats",
    "speedboats",
    "suvs",
    "jeeps",
    "motorcycles",
    "motorbikes",
    "tankers",
)
#: A tally of many operations ("1,400 kg had been seized since March", "in May alone"): its
#: quantities are not this event's seizure.
_TALLY = re.compile(
    r"\b(?:since (?:the (?:start|beginning) of |last )?(?:january|february|march|april|may|june|"
    r"july|august|september|october|november|december|\d{4}|the start|the beginning)|"
    r"in (?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december) alone|in the (?:past|last) (?:\w+ )?(?:hours|days|"
    r"weeks|months|years)|in (?:(?:two|three|four|five|several|various|\d+) )?(?:separate )?"
    r"operations)\b",
    re.I,
)
#: "3,240 kg of opium and hashish", "petrol and diesel": a mixture of one kind of commodity.
_MIXED = re.compile(r"^(?:of )?(?:[\w-]+ ){0,2}?(?P<a>[\w-]+) (?:and|or|&) (?P<b>[\w-]+)\b", re.I)
_OTHER_OF = {"smuggling_narcotics": "other_narcotics", "smuggling_fuel": "other_fuel"}
#: Goods counted by value: "worth Rs30 million", "worth 40 billion rials", "valued at $2,000".
_MONEY = re.compile(
    rf"\b(?:worth|valued at|value of)(?: (?:about|around|over|more than|nearly|some))? "
    rf"(?:(?P<rs>rs\.? ?|pkr ?)(?P<n>{NUMBER})(?P<s> ?(?:million|billion|m|bn))?\b|"
    rf"(?P<n2>{NUMBER})(?P<s2> (?:million|billion))? (?P<cur>rials|rupees|dollars)\b)",
    re.I,
)


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def sentences(text: str) -> list[Span]:
    """The article's sentences as spans (pysbd; trailing spaces cut)."""
    out: list[Span] = []
    for s in _segmenter().segment(text):
        start, end = s.start, s.end
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(Span(start, end))
    return out


#: "the militants behind the bombing": a trigger word naming an act already reported.
_REFERENCE = re.compile(
    r"\b(?:behind|after|following|since|in connection with|responsible for|involved in|"
    r"claimed responsibility for|used in|in retaliation for) (?:the|that|this|last \w+'s)"
    r"(?: [\w'-]+)? $",
    re.I,
)
#: Grenades, bombs or explosives recovered (and not defused, thrown or exploding): a seizure.
_ARMS_RECOVERED = re.compile(
    rf"\b(?:{_SEIZE})\b(?: [\w,'-]+){{0,6}}? (?:hand )?(?:grenades|bombs|explosives|"
    r"detonators|mortar shells|rockets)\b",
    re.I,
)
_EXPLODED = re.compile(
    r"\b(?:defus\w+|hurled|thrown|threw|lobbed|planted|explo(?:ded|sion)|went off|blast|"
    r"detonat\w+|injur\w+|kill\w+|wound\w+|martyr\w+)\b",
    re.I,
)


def _search(pattern: re.Pattern[str], sentence: str) -> re.Match[str] | None:
    """The first trigger of ``pattern`` that is not a reference to an act already reported."""
    for m in pattern.finditer(sentence):
        if not _REFERENCE.search(sentence[: m.start()]):
            return m
    return None


_VEHICLES_ONLY = ("smuggling_goods", "vehicles")
_BY_FIGHTERS = re.compile(
    r"\bby (?:the )?(?:militants|terrorists|insurgents|miscreants|unknown|unidentified|gunmen)\b",
    re.I,
)
#: The people-crossing cues ("migrants", "without documents"): the last illegal_crossing trigger.
_ILLEGAL = [p for c, p in _TRIGGERS if c == "illegal_crossing"][-1]


@lru_cache(maxsize=4096)  # _clauses and extract ask about the same sentences
def _category(sentence: str) -> tuple[str, re.Match[str]] | None:
    for category, pattern in _TRIGGERS:
        m = _search(pattern, sentence)
        if not m:
            continue
        if category == "cross_border_fire" and _BY_FIGHTERS.search(sentence):
            continue  # "a mortar shell fired by militants": not the other side's forces
        if (
            category == "explosion_ied"
            and _ARMS_RECOVERED.search(sentence)
            and not _EXPLODED.search(sentence)
        ):
            continue  # "six hand grenades were recovered": smuggling_weapons below
        if category == "crossing_closure_protest" and not _PROTEST_ABOUT.search(sentence):
            continue
        if category == "smuggling":
            named = [(cat, com) for cat, com, cp in _COMMODITIES if cp.search(sentence)]
            # "intercepted two vehicles carrying 35 migrants": the people are the event
            if named and set(named) == {_VEHICLES_ONLY} and _ILLEGAL.search(sentence):
                continue
            if named:
                # the commodity the sentence names first (vehicles only when nothing else is):
                # "foiled a bid to smuggle weapons ... hidden in a truck's fuel tank"
                return _first_commodity(sentence)[0], m
            continue
        return category, m
    return None


def _first_commodity(sentence: str) -> tuple[str, str]:
    """(category, commodity) of the commodity named first; vehicles only when alone."""
    named = [
        (com == "vehicles", m.start(), cat, com)
        for cat, com, cp in _COMMODITIES
        if (m := cp.search(sentence))
    ]
    _, _, cat, com = min(named)
    return cat, com


@lru_cache(maxsize=4096)  # _clauses and extract ask about the same sentences
def _crossing(sentence: str) -> tuple[str, str | None, re.Match[str]] | None:
    if not _CROSSING_NOUN.search(sentence) and not (
        _CROSSING_WEAK.search(sentence) and _CROSSING_PLACE.search(sentence)
    ):
        return None
    for action, pattern in _CROSSING_ACTIONS:
        for m in pattern.finditer(sentence):
            if _INTENT.search(sentence[: m.start()]):
                continue  # "agreed to reopen": an intention, not the act
            name = _CROSSING_NAME.search(sentence)
            return action, (name.group(1) or name.group(2)) if name else None, m
    return None


_INTENT = re.compile(
    r"\b(?:agreed|agree|plans?|planning|expected|likely|hopes?|urged|demanded|asked)\b"
    r"[^.;,]*\bto $",
    re.I,
)


def _number(token: str) -> int | None:
    value = parse_number(token)
    return int(value) if value is not None and value == int(value) else None


#: ", four injured and five others arrested": more counts of the same party after a count.
_MORE = re.compile(
    rf"^(?:,| and|, and| while|, while)(?: (?P<q>{_Q}))? (?P<n>{NUMBER})(?: (?:others|more))?"
    rf"(?: (?:were|was|have been|had been|got))?(?: \w+ly)? (?P<k>{_KIND})\b"
    rf"|^(?:,| and|, and| while|, while) (?P<k2>{_KIND}) (?:(?P<q2>{_Q}) )?(?P<n2>{NUMBER})"
    r"(?: (?:others|more|of them))?\b(?! [\w'-]+ (?:" + _PARTY + r")\b)",
    re.I,
)
_BODIES = re.compile(rf"\bbodies of (?P<n>{NUMBER})(?: [\w'-]+){{0,3}}? (?P<p>{_PARTY})\b", re.I)
_SECURITY = re.compile(_PARTIES[0][1], re.I)
_KIN = re.compile(r"\bmembers? of (?:a|the|one|their|his) (?:family|household|tribe|clan)\b", re.I)
_SEIZE_RX = re.compile(rf"\b(?:{_SEIZE})\b", re.I)
_PARTY_WORD = re.compile(rf"\b(?:{_PARTY})\b", re.I)


#: The word lists compiled once: matched per count, they would crowd re's own cache out.
_WHOLE: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    "qualifier": [(n, re.compile(rx, re.I)) for n, rx in _QUALIFIERS],
    "party": [(n, re.compile(rx, re.I)) for n, rx in _PARTIES],
    "kind": [(n, re.compile(rx, re.I)) for n, rx in _KINDS],
    "unit": [(n, re.compile(rx, re.I)) for n, rx, _ in _UNITS],
}


def _one(q: str | None, n_text: str, party: str, kind: str, span: Span) -> Count | None:
    n = _number(n_text)
    if n is None or n == 0 or n > 10_000:
        return None
    qualifier = next(name for name, rx in _WHOLE["qualifier"] if rx.fullmatch(q)) if q else None
    low = None if qualifier == "up to" else n
    high = n if qualifier in (None, "up to") else None
    return Count(party, kind, low, n, high, qualifier, span)


def _party(word: str, phrase: str, category: str | None) -> str:
    """The party a casualty word names; "members" and plain people read from the context."""
    party = next(p for p, rx in _WHOLE["party"] if rx.fullmatch(word))
    if word.lower() in ("member", "members"):
        if _KIN.search(phrase):  # "four members of a family"
            return "civilians"
        return "security_forces" if _SECURITY.search(phrase) else "assailants"
    return party


def _kind(word: str) -> str:
    return next(k for k, rx in _WHOLE["kind"] if rx.fullmatch(word))


def _counts(sentence: str, span: Span, category: str | None = None) -> list[Count]:
    """Counts whose number is attached to a party and a casualty word in ``sentence``."""
    found: dict[tuple[str, str], Count] = {}

    def keep(c: Count | None) -> None:
        if c is not None:
            # people arrested at a seizure are the smugglers (the gold set's rule)
            if (
                c.kind == "detained"
                and c.party == "civilians"
                and (category or "").startswith("smuggling")
            ):
                c.party = "assailants"
            found.setdefault((c.party, c.kind), c)

    for m in _COUNT_RANGE.finditer(sentence):
        low, high = _number(m.group("n")), _number(m.group("n2"))
        if low is not None and high is not None and 0 < low < high <= 10_000:
            party = _party(m.group("p"), sentence[m.start() : m.end() + 30], category)
            keep(Count(party, _kind(m.group("k")), low, low, high, None, span))
    for pattern in (_COUNT_PAIR, _COUNT_BEFORE, _COUNT_AFTER, _CUSTODY):
        for m in pattern.finditer(sentence):
            party = _party(m.group("p"), sentence[m.start() : m.end() + 30], category)
            kind = _kind(m.group("k")) if "k" in m.groupdict() else "detained"
            keep(_one(m.group("q"), m.group("n"), party, kind, span))
            if m.groupdict().get("p2"):  # "detained 63 nationals and two facilitators"
                p2 = _party(m.group("p2"), m.group(0), category)
                keep(_one(m.group("q2"), m.group("n2"), p2, kind, span))
            rest = sentence[m.end() :]
            # ", four injured and five others arrested", "and injuring three others"
            while more := _MORE.match(rest):
                q, n, k = (more.group("q"), more.group("n"), more.group("k"))
                if n is None:
                    q, n, k = (more.group("q2"), more.group("n2"), more.group("k2"))
                keep(_one(q, n, party, _kind(k), span))
                rest = rest[more.end() :]
    for m in _ANAPHOR.finditer(sentence):
        named = list(_PARTY_WORD.finditer(sentence[: m.start()]))
        if not named:
            continue
        word = named[-1]
        party = _party(word.group(0), sentence[max(0, word.start() - 30) : word.end()], category)
        if m.group("n") is not None:
            keep(_one(m.group("q"), m.group("n"), party, _kind(m.group("k")), span))
        else:
            keep(_one(m.group("q2"), m.group("n2"), party, _kind(m.group("k2")), span))
    for m in _BODIES.finditer(sentence):
        keep(_one(None, m.group("n"), _party(m.group("p"), m.group(0), category), "killed", span))
    return list(found.values())


def _seizures(sentence: str, span: Span, category: str | None) -> list[Seized]:
    out: list[Seized] = []
    if _TALLY.search(sentence):
        return out
    for q in _QUANTITY.finditer(sentence):
        n_text, u_text = (q.group("n"), q.group("u")) if q.group("n") else (q["n2"], q["u2"])
        qty = parse_number(n_text)
        if qty is None or qty <= 0:
            continue
        unit = next(u for u, rx in _WHOLE["unit"] if rx.fullmatch(u_text))
        tail = sentence[q.end() : q.end() + 60]
        commodity = None
        if unit == "items":
            word = u_text.lower()
            commodity = (
                "vehicles"
                if word in _VEHICLE_WORDS
                else "explosives"
                if word.endswith(("grenades", "detonators"))
                else "firearms"
            )
        elif unit == "rounds":
            commodity = "ammunition"
        else:
            # the commodity named first after the quantity ("1.8 tonnes of opium and 350 kg of
            # hashish": opium, then hashish)
            named = [
                (m.start(), cat, com)
                for cat, com, cp in _COMMODITIES
                if (category is None or cat == category) and (m := cp.search(tail))
            ]
            if named:
                _, cat, commodity = min(named)
                commodity = _mixture(tail, cat) or commodity
        if commodity == "vehicles" and (
            category is None  # the vehicles of a clash or of migrants are not a seizure
            or not _SEIZE_RX.search(sentence)  # "signalled two pick-ups to stop"
        ):
            continue
        if sentence[max(0, q.start() - 10) : q.start()].lower().endswith("including "):
            continue  # "35 vehicles, including 20 pick-ups": a part of a quantity already read
        if commodity is not None:
            out.append(Seized(commodity, qty, unit, span))
    if category == "smuggling_goods":
        for m in _MONEY.finditer(sentence):
            money = _money(m)
            if money is not None:
                out.append(Seized("goods", money[0], money[1], span))
    return out


def _mixture(tail: str, category: str) -> str | None:
    """``other_narcotics`` for "of opium and hashish", ``other_fuel`` for "petrol and diesel"."""
    mixed = _MIXED.match(tail.strip())
    if category not in _OTHER_OF or not mixed:
        return None
    kinds = {
        com
        for cat, com, cp in _COMMODITIES
        for word in (mixed.group("a"), mixed.group("b"))
        if cat == category and cp.fullmatch(word)
    }
    return _OTHER_OF[category] if len(kinds) == 2 else None


def _money(m: re.Match[str]) -> tuple[float, str] | None:
    n_text = m.group("n") or m.group("n2")
    value = parse_number(n_text)
    if value is None:
        return None
    scale = (m.group("s") or m.group("s2") or "").strip().lower()
    value *= {"million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}.get(scale, 1)
    cur = (m.group("cur") or "").lower()
    unit = {"rials": "IRR", "dollars": "USD"}.get(cur, "PKR")
    return value, unit


def _vetoed(sentence: str, trigger_at: int, *, crossing: bool) -> bool:
    """Speech about the future, a visit, a meeting... before the trigger: not an event.

    A crossing's announced closure ("will be closed from Tuesday") is a declaration all the same.
    """
    for m in _NOT_EVENT.finditer(sentence):
        if m.start() >= trigger_at:
            return False
        if not (crossing and m.group(0).lower() in ("will", "would")):
            return True
    return False


def extract(text: str, *, published: date, title: str = "") -> list[Event]:
    """The candidate events ``text`` reports, in order of their first sentence."""
    if _OPINION_TITLE.search(title):
        return []
    dateline = _DATELINE.match(text[:80])
    skip = dateline.end() if dateline else 0
    events: list[Event] = []
    inherits: set[int] = set()  # events that take the date and place of the one before
    current: Event | None = None
    lead: list[Span] = []
    for span in _clauses(text, published):
        s = text[span.start : span.end]
        crossing = _crossing(s)
        hit = _category(s)
        if (
            hit is None
            and crossing is None
            and current is not None
            and current.category in ("armed_attack", "explosion_ied")
            and (answer := _RESPONSE.search(s)) is not None
            and _OUTCOME.search(s) is not None
        ):
            # "One attacker was killed in retaliatory fire": no trigger word of its own, but
            # the troops' answer with its own outcome (taken as armed_clash below)
            hit = ("armed_clash", answer)
        at = (
            min(m.start() for m in [*(x[-1] for x in (crossing, hit) if x)])
            if hit or crossing
            else 0
        )
        # "closed the gate after an attack": the closure is the news, the attack its reason
        if (
            hit
            and crossing
            and crossing[-1].start() < hit[-1].start()
            and _BECAUSE.search(s[crossing[-1].end() : hit[-1].start()])
        ):
            hit = None
        if (
            (hit or crossing)
            and not _vetoed(s, at, crossing=bool(crossing) and not hit)
            and not _TREND.search(s)
        ):
            kind = "incident" if hit else "crossing"
            key = hit[0] if hit else crossing[0] if crossing else None
            response = (
                current is not None
                and current.kind == "incident"
                and current.category in ("armed_attack", "explosion_ied")
                and _RESPONSE.search(s) is not None
                and _OUTCOME.search(s) is not None
            )
            if response:
                kind, key = "incident", "armed_clash"
                hit = ("armed_clash", _RESPONSE.search(s))  # type: ignore[assignment]
            elif (
                hit is not None
                and hit[0] == "armed_clash"
                and _FIGHT.search(s) is not None
                and current is not None
                and current.category in ("armed_attack", "explosion_ied")
                and any(c.party == "assailants" and c.kind != "injured" for c in _counts(s, span))
            ):
                # "The security forces killed one of the attackers in the exchange of fire":
                # the troops' answer that kills or captures attackers is its own act
                response = True
            new = (
                current is None
                or response
                or kind != current.kind
                or bool(_NEW_EVENT.search(s))
                or (
                    key != (current.category if kind == "incident" else current.action)
                    and find_when(s, published=published, previous=None) is not None
                    # "The attack took place late on Sunday": the act already reported
                    and not (hit is not None and _DEFINITE.search(s[: hit[1].start()]))
                )
            )
            same = next(
                (
                    e
                    for e in events
                    if kind == "crossing" and e.kind == "crossing" and e.action == key
                ),
                None,
            )
            if new and same is not None and not _NEW_EVENT.search(s):
                # "the crossing would stay closed": the closure the article already reports
                current, new = same, False
            if new:
                current = Event(kind=kind)
                if not events:  # the sentences before the first event set its scene
                    current.sentences.extend(lead)
                    current.lead = len(lead)
                events.append(current)
                if response:
                    inherits.add(len(events) - 1)
            assert current is not None
            if current.kind == "crossing" and crossing and current.action is None:
                action, name, m = crossing
                current.action, current.crossing = action, name
                current.category_span = Span(span.start + m.start(), span.start + m.end())
            elif hit and current.category is None:
                category, m = hit
                current.category = category
                current.category_span = Span(span.start + m.start(), span.start + m.end())
            current.sentences.append(span)
        elif current is not None and not _NOT_EVENT.search(s) and not _TREND.search(s):
            current.sentences.append(span)
        elif current is None and not _NOT_EVENT.search(s) and not _TREND.search(s):
            lead.append(span)
    # "the town", "the crossing": the dateline's place (the gold set's rule), or the crossing
    # an earlier event of the article named
    filed = [h for h in find_places(text[:skip], context=text) if h.place.kind != "province"]
    previous: Event | None = None
    for i, event in enumerate(events):
        _fill(event, text, published=published, previous=previous, skip=skip)
        if event.kind == "crossing" and event.place is None:
            named = next((e for e in reversed(events[:i]) if e.kind == "crossing"), None)
            if named is not None and named.place is not None:
                event.place, event.place_name = named.place, named.place_name
                event.place_span = named.place_span
                event.crossing = event.crossing or named.crossing
        if event.place is None and filed and filed[0].place.name not in _CAPITALS:
            where = filed[0]
            event.place, event.place_name = where.place, text[where.start : where.end]
            event.place_span = Span(where.start, where.end)
        if event.place is None and previous is not None and previous.place is not None:
            # "a firing incident in which a man was killed": where the article's last act was
            event.place, event.place_name = previous.place, previous.place_name
            event.place_span = previous.place_span
        if i in inherits and previous is not None:
            first = event.sentences[event.lead] if event.sentences else None
            own = first is not None and (
                find_when(text[first.start : first.end], published=published, previous=None)
                is not None
            )
            if not own:  # the answer happens when the attack did, not on a later search's day
                event.date = None
            if event.date is None:
                event.date, event.date_precision = previous.date, previous.date_precision
                event.date_span = previous.date_span
            if event.place is None:
                event.place, event.place_name = previous.place, previous.place_name
                event.place_span = previous.place_span
        previous = event
    return events


_FIGHT = re.compile(
    r"\b(?:exchange of fire|exchanged fire|gunfight|gun battle|firefight|shoot-?out|clash\w*|"
    r"encounter)\b",
    re.I,
)
#: "The attack", "the blast": a definite reference to an act the article already reports.
_DEFINITE = re.compile(
    r"(?:^|\b(?:the|this|that|sunday's|monday's|tuesday's|wednesday's|"
    r"thursday's|friday's|saturday's|yesterday's) )$",
    re.I,
)


def _clauses(text: str, published: date) -> list[Span]:
    """The sentences; one that reports a crossing closed "after" an incident with its own
    time or casualties ("closed on Monday after Iranian forces fired at a group of people a
    day earlier, killing one person") is read as two: the closure and the incident."""
    out: list[Span] = []
    for span in sentences(text):
        s = text[span.start : span.end]
        crossing, hit = _crossing(s), _category(s)
        because = (
            _AFTER.search(s, crossing[-1].end(), hit[-1].start())
            if crossing and hit and crossing[-1].start() < hit[-1].start()
            else None
        )
        if because is not None:
            clause = s[because.start() :]
            own_time = find_when(clause, published=published, previous=None) is not None
            if own_time or _counts(clause, span):
                out += [
                    Span(span.start, span.start + because.start()),
                    Span(span.start + because.start(), span.end),
                ]
                continue
        out.append(span)
    return out


_AFTER = re.compile(r"\b(?:(?:a|one|two|three) days? )?(?:after|following|in the wake of)\b", re.I)
_BECAUSE = re.compile(r"\b(?:after|following|in the wake of|due to|because of|amid|since)\b", re.I)
_COMPOUND = re.compile(r"\b(\w+(?:[-–]\w+)+) (\w+)")
_ROUTE = re.compile(r"roads?|railway|rail|highway|track|motorway|route|pipeline|line", re.I)
#: Provincial capitals: where reports are filed from, not where the event is.
_CAPITALS = ("Quetta", "Zahedan")
_LINKED_RX = re.compile(rf"\b(?:{_LINKED})\b", re.I)


def _fill(event: Event, text: str, *, published: date, previous: Event | None, skip: int) -> None:
    """Date, place, counts and seizures from the event's own sentences."""
    anchor = None
    if previous is not None and previous.date and len(previous.date) == 10:
        anchor = date.fromisoformat(previous.date)
    hits: list[tuple[int, int, Place]] = []
    # the date of the event's own sentences first, then the scene's
    by_date = event.sentences[event.lead :] + event.sentences[: event.lead]
    for span in by_date:
        s = text[span.start : span.end]
        if event.category == "other" and (linked := _LINKED_RX.search(s)):
            s = s[: linked.start()]  # "... involved in an attack in Washuk in March": that act's
        if event.date is None:
            found = find_when(
                s, published=published, previous=anchor, skip_to=max(0, skip - span.start)
            )
            if found is not None:
                event.date, event.date_precision = found.value, found.precision
                event.date_span = Span(span.start + found.start, span.start + found.end)
        hits.extend(
            (span.start + h.start, span.start + h.end, h.place)
            for h in find_places(s, context=text)
        )
        if event.kind == "incident":
            have = {(c.party, c.kind) for c in event.counts}
            for c in _counts(s, span, event.category):
                if (c.party, c.kind) not in have:
                    event.counts.append(c)
            if event.category and event.category.startswith("smuggling"):
                event.seizures.extend(_seizures(s, span, event.category))
            elif _SEIZE_RX.search(s):  # "140 kilograms of opium were recovered" after a clash
                event.seizures.extend(_seizures(s, span, None))
    hits.sort(key=lambda h: h[0])
    # the dateline's town is where the report was filed: the event's place only if none other
    # a provincial capital in the dateline is never the event's place (see extract)
    hits = [h for h in hits if not (h[0] < skip and h[2].name in _CAPITALS)]

    def _route(h: tuple[int, int, Place]) -> bool:
        """ "the Quetta-Taftan railway", "the Panjgur-Chedgi road": an end of a route (a
        crossing named by both its towns, "the Gabd-Rimdan crossing", is a place)."""
        window = _COMPOUND.finditer(text, max(0, h[0] - 40), min(len(text), h[1] + 40))
        return any(
            m.start(1) <= h[0] and h[1] <= m.end(1) and _ROUTE.fullmatch(m.group(2)) for m in window
        )

    def _sentence(h: tuple[int, int, Place]) -> Span | None:
        return next((sp for sp in event.sentences if sp.start <= h[0] < sp.end), None)

    # an end of a route yields to another place its sentence names ("near Dalbandin")
    routes = {
        h
        for h in hits
        if _route(h)
        and any(o[0] >= skip and not _route(o) and _sentence(o) == _sentence(h) for o in hits)
    }
    ranked = (
        [h for h in hits if h[0] >= skip and h not in routes]
        + [h for h in hits if h[0] >= skip and h in routes]
        + [h for h in hits if h[0] < skip]
    )
    if ranked:
        start, end, place = next((h for h in ranked if h[2].kind != "province"), ranked[0])
        event.place, event.place_name = place, text[start:end]
        event.place_span = Span(start, end)
