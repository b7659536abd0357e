"""STIX 2.1 mapping: outbound objects pass the OASIS tools, round trips keep the data, and
inbound parsing refuses bad objects one by one without ever raising."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.fixtures.stix_records import (
    IDENTITY,
    JSON,
    KEYS,
    NODE_ID,
    SUBSETS,
    assert_no_crash,
    edited,
    empty_values,
    ext_of,
    good,
    instant,
    make_record,
    note,
    one_incident,
    partner_extras,
    paths,
    projection,
    reasons,
    to_stix,
    withhold,
)
from sarhad.core.markings import STIX_TLP2_IDS, TLP
from sarhad.federation.stix.core import (
    node_identity,
    stix_timestamp,
    tlp_marking_definitions,
    validate_with_oasis,
)
from sarhad.federation.stix.envelope import Rejected
from sarhad.federation.types.incident import (
    PRECISION_M,
    SCHEMA_PATH,
    WITHHOLDABLE,
    derived_id,
    extension_definition,
    incident_to_stix,
    parse_inbound,
)
from sarhad.incidents.taxonomy import (
    Category,
    Commodity,
    DatePrecision,
    LocationPrecision,
    Status,
    Unit,
)

FIXTURES = Path(__file__).parent / "fixtures"


# --- fixed objects -------------------------------------------------------------------------


def test_tlp_marking_definitions_are_the_published_objects():
    published = json.loads((FIXTURES / "tlp2-published.json").read_text())
    assert tlp_marking_definitions() == published
    assert [m["id"] for m in tlp_marking_definitions()] == [STIX_TLP2_IDS[t] for t in TLP]


def test_fixed_objects_pass_stix2_and_the_oasis_validator():
    objects = [
        node_identity(node_id=NODE_ID, name="pk-node", country="PK", created=datetime(2024, 1, 1)),
        extension_definition(created_by_ref=IDENTITY),
        *tlp_marking_definitions(),
    ]
    warnings: list[str] = []
    assert validate_with_oasis(objects, warnings_out=warnings) == []
    assert warnings == []
    for obj in objects:
        stix2.parse(obj, allow_custom=False)
    identity = objects[0]
    assert identity["id"] == IDENTITY
    assert identity["name"] == "pk-node (PK)"
    assert identity["identity_class"] == "organization"


def test_fixed_objects_refuse_bad_input():
    with pytest.raises(ValueError, match="UUID"):
        node_identity(node_id="pk-node", name="x", country="PK", created=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="alpha-2"):
        node_identity(node_id=NODE_ID, name="x", country="Pakistan", created=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="identity--"):
        extension_definition(created_by_ref="org--x")


def test_schema_enums_follow_the_taxonomy():
    props = json.loads(SCHEMA_PATH.read_text())["properties"]
    assert props["category"]["enum"] == [c.value for c in Category]
    assert props["status"]["enum"] == [s.value for s in Status]
    assert props["date_precision"]["enum"] == [d.value for d in DatePrecision]
    assert props["location_precision"]["enum"] == [p.value for p in LocationPrecision]
    seizure = props["seizures"]["items"]["properties"]
    assert seizure["commodity"]["enum"] == [c.value for c in Commodity]
    assert seizure["unit"]["enum"] == [u.value for u in Unit]
    assert sorted(props["withheld_fields"]["items"]["enum"]) == sorted(WITHHOLDABLE)
    assert set(PRECISION_M) == set(LocationPrecision)


# --- outbound ------------------------------------------------------------------------------

CASES = [(n, SUBSETS[n % len(SUBSETS)]) for n in range(max(len(SUBSETS), len(Category) * 2))]
EXPECTED_WARNINGS = ("{103}", "{202}")  # uuid5 ids of location/relationship; incident located-at


def test_every_object_passes_the_oasis_validator_with_our_schema():
    objects = [obj for n, hidden in CASES for obj in to_stix(make_record(n), hidden)]
    assert {ext_of(o)["category"] for o in objects if o["type"] == "incident"} == set(Category)
    assert {o["object_marking_refs"][0] for o in objects} == set(STIX_TLP2_IDS.values())
    warnings: list[str] = []
    assert validate_with_oasis(objects, warnings_out=warnings) == []
    assert warnings and all(any(c in w for c in EXPECTED_WARNINGS) for w in warnings)
    assert not any(w.startswith("incident--") for w in warnings)
    for obj in objects:
        stix2.parse(obj, allow_custom=False)


def test_the_validator_checks_the_extension_contents():
    incident = to_stix(make_record())[0]
    ext_of(incident)["category"] = "picnic"
    ext_of(incident)["casualties"]["civilians"]["killed"] = -1
    errors = validate_with_oasis([incident])
    assert any("category" in e for e in errors)
    assert any("killed" in e for e in errors)


@pytest.mark.parametrize("hidden", SUBSETS, ids=lambda s: "+".join(sorted(s)) or "none")
def test_absent_fields_are_absent_in_stix_never_empty(hidden):
    incident, location, _ = to_stix(make_record(4), hidden)
    for obj in to_stix(make_record(4), hidden):
        assert empty_values(obj) == []
    ext = ext_of(incident)
    assert ext.get("withheld_fields", []) == sorted(hidden)
    assert ("description" in incident) == ("narrative" not in hidden)
    assert ("external_references" in incident) == ("sources" not in hidden)
    for name in ("grading", "place", "seizures"):
        assert (name in ext) == (name not in hidden)
    assert "name" not in location  # the place name is only in the extension


def test_empty_text_and_lists_are_left_out_but_not_called_withheld():
    record = make_record(0, narrative="", sources=[], seizures=[])
    record["location"]["place"] = None
    incident = incident_to_stix(record, identity_id=IDENTITY, origin_node_id=NODE_ID)[0]
    assert empty_values(incident) == []
    assert "withheld_fields" not in ext_of(incident)
    data = one_incident(incident_to_stix(record, identity_id=IDENTITY, origin_node_id=NODE_ID)).data
    assert (data["narrative"], data["sources"], data["seizures"]) == ("", [], [])
    assert "place" not in data["location"]


def test_withholding_fails_closed():
    record = make_record(4)
    # Named but still present: left out anyway. Removed but not named: listed anyway.
    incident = incident_to_stix(
        withhold(record, frozenset({"sources"})),
        identity_id=IDENTITY,
        withheld=["narrative"],
        origin_node_id=NODE_ID,
    )[0]
    assert "description" not in incident and "external_references" not in incident
    assert ext_of(incident)["withheld_fields"] == ["narrative", "sources"]
    with pytest.raises(ValueError, match="casualties"):
        incident_to_stix(
            record, identity_id=IDENTITY, withheld=["casualties"], origin_node_id=NODE_ID
        )


def test_mapping_of_core_properties():
    record = make_record(5)
    incident, location, rel = to_stix(record)
    assert incident["id"] == f"incident--{record['id']}"
    assert incident["name"] == record["title"]
    assert incident["description"] == record["narrative"]
    assert incident["created_by_ref"] == IDENTITY
    assert incident["object_marking_refs"] == [TLP(record["tlp"]).stix_id]
    assert incident["external_references"][0] == {
        "source_name": "sarhad-source",
        "description": record["sources"][0],
    }
    ext = ext_of(incident)
    assert ext["origin_node"] == NODE_ID
    assert ext["border"]["nearest_crossing"] == "taftan-mirjaveh"
    assert instant(ext["occurred_at"]) == instant(record["occurred_at"])
    assert ext["occurred_at"].endswith("Z")
    assert (location["latitude"], location["longitude"]) == (
        record["location"]["lat"],
        record["location"]["lon"],
    )
    assert location["precision"] == PRECISION_M[LocationPrecision(record["location"]["precision"])]
    assert rel["source_ref"] == incident["id"] and rel["target_ref"] == location["id"]
    assert rel["relationship_type"] == "located-at"
    for obj in (location, rel):
        assert obj["created"] == incident["created"] and obj["modified"] == incident["modified"]
        assert obj["object_marking_refs"] == incident["object_marking_refs"]


def test_country_only_for_iso_sides():
    _, location, _ = to_stix(make_record(0))  # enrichment side "outside"
    assert "country" not in location
    _, location, _ = to_stix(make_record(1))
    assert location["country"] == "PK"


def test_timestamps_keep_microseconds_and_never_go_backwards():
    rec = make_record(
        0, created_at="2024-05-01T10:00:00Z", updated_at="2024-05-01T10:00:00.000001Z"
    )
    incident = to_stix(rec)[0]
    assert incident["created"] == "2024-05-01T10:00:00.000Z"
    assert incident["modified"] == "2024-05-01T10:00:00.000001Z"
    later = to_stix(make_record(0, updated_at="2024-05-01T10:00:00.000002Z"))[0]
    assert later["modified"] > incident["modified"]
    skewed = to_stix(make_record(0, updated_at="2024-04-30T00:00:00Z"))[0]
    assert skewed["modified"] == skewed["created"]
    assert stix_timestamp("2024-05-01T15:00:00.250+05:00") == "2024-05-01T10:00:00.250Z"
    assert stix_timestamp(datetime(2024, 5, 1, 10)) == "2024-05-01T10:00:00.000Z"


def test_ids_are_deterministic_and_never_come_from_the_name():
    a1, a2 = to_stix(make_record(1)), to_stix(make_record(1))
    assert [o["id"] for o in a1] == [o["id"] for o in a2]
    b = to_stix(make_record(2))  # same title "Firing near Taftan", different record
    assert a1[0]["name"] == b[0]["name"]
    assert {o["id"] for o in a1}.isdisjoint(o["id"] for o in b)
    assert a1[1]["id"] == derived_id("location", a1[0]["id"], "location")


# --- round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("n,hidden", CASES)
def test_round_trip_keeps_the_data(n, hidden):
    record = make_record(n)
    got = one_incident(to_stix(record, hidden))
    expected = projection(record, hidden)
    assert instant(got.data.pop("occurred_at")) == instant(expected.pop("occurred_at"))
    assert got.data == expected
    assert got.withheld_fields == sorted(hidden)
    assert (got.version, got.status) == (record["version"], record["status"])
    assert got.origin_node_id == NODE_ID and got.created_by_ref == IDENTITY
    assert got.record_id == record["id"] and got.stix_id == f"incident--{record['id']}"
    assert got.modified == instant(record["updated_at"])
    assert got.created == instant(record["created_at"])
    assert got.revoked is False


def test_round_trip_through_json_text():
    objects = json.loads(json.dumps(to_stix(make_record(3), frozenset({"place"}))))
    assert "place" not in one_incident(objects).data["location"]


# --- inbound rejections ----------------------------------------------------------------------


def test_modified_before_created():
    objects = edited(modified="2020-01-01T00:00:00.000Z")
    assert reasons(objects) == [f"{objects[0]['id']}: 'modified' is before 'created'"]


def test_unknown_extension_is_named():
    objects = good()
    other = "extension-definition--2c5c13af-ee92-5246-9ba7-0b958f8cd34a"
    objects[0]["extensions"][other] = {"extension_type": "property-extension", "abc": 1}
    assert reasons(objects) == [f"{objects[0]['id']}: unknown extension {other}"]


def test_incident_without_our_extension():
    objects = good()
    del objects[0]["extensions"]
    [reason] = reasons(objects)
    assert "not a Sarhad border incident" in reason


def test_size_limit():
    objects = edited(description="x" * 70_000)
    [reason] = reasons(objects)
    assert "bytes exceeds the 65536-byte limit" in reason
    assert parse_inbound(good(), max_object_bytes=200)[1][0].reason.endswith("200-byte limit")


@pytest.mark.parametrize("type_", ["malware", "observed-data", "indicator", "x-custom"])
def test_types_not_accepted(type_):
    obj = {"type": type_, "id": f"{type_}--{uuid.uuid4()}", "spec_version": "2.1"}
    _, rejected, _ = parse_inbound([obj])
    assert rejected == [
        Rejected(obj["id"], f"{obj['id']}: type {type_!r} is not accepted on this collection")
    ]


@pytest.mark.parametrize(
    "refs,expected",
    [
        ([], "no TLP marking"),
        ([TLP.GREEN.stix_id, TLP.AMBER.stix_id], "more than one TLP marking"),
        ([stix2.TLP_GREEN.id, TLP.AMBER.stix_id], "more than one TLP marking"),
    ],
)
def test_markings(refs, expected):
    objects = good(2)  # TLP amber
    objects[0]["object_marking_refs"] = refs
    if not refs:
        del objects[0]["object_marking_refs"]
    [reason] = reasons(objects)
    assert expected in reason


@pytest.mark.parametrize(
    ("tlp1", "tlp2"),
    [
        (stix2.TLP_WHITE, TLP.CLEAR),
        (stix2.TLP_GREEN, TLP.GREEN),
        (stix2.TLP_AMBER, TLP.AMBER),
        (stix2.TLP_RED, TLP.RED),
    ],
    ids=["white", "green", "amber", "red"],
)
def test_tlp1_markings_are_read_as_tlp2(tlp1, tlp2):
    objects = good(2)
    for obj in objects:  # stix2 3.0 offers only TLP 1.0: every part carries it
        obj["object_marking_refs"] = [tlp1.id]
    [incident], rejected, _ = parse_inbound(objects)
    assert rejected == [] and incident.data["tlp"] == tlp2.value
    # The same level in both versions is one marking, not two.
    objects[0]["object_marking_refs"] = [tlp1.id, tlp2.stix_id]
    assert parse_inbound(objects)[0][0].data["tlp"] == tlp2.value


def test_location_must_carry_the_incident_marking():
    objects = good(2)
    objects[1]["object_marking_refs"] = [TLP.CLEAR.stix_id]
    [reason] = reasons(objects)
    assert "is not marked TLP:AMBER" in reason


def test_incident_needs_its_location_in_the_batch():
    objects = good()
    [reason] = reasons(objects[:1])
    assert reason == f"{objects[0]['id']}: no located-at location in this batch"
    [reason] = reasons([objects[0], objects[2]])  # relationship without its location
    assert "no located-at location" in reason


@pytest.mark.parametrize(
    "path,value,expected",
    [
        (("casualties", "civilians", "killed"), -1, "extension casualties.civilians.killed"),
        (("category",), "picnic", "extension category"),
        (("version",), True, "extension version"),
        (("occurred_at",), "yesterday", "extension occurred_at"),
        (("border", "extra"), 1, "extension border"),
        (("seizures",), [{"commodity": "hashish", "quantity": 1, "unit": "rounds"}], "seizures.0"),
        (("occurred_at",), "2024-13-01T00:00:00Z", "occurred_at"),
        (("occurred_at",), "2024-05-01T00:00:00Z", None),  # the control: valid
    ],
)
def test_extension_contents_are_checked(path, value, expected):
    objects = good(1)
    target = ext_of(objects[0])
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    incidents, rejected, _ = parse_inbound(objects)
    if expected is None:
        assert rejected == [] and len(incidents) == 1
    else:
        assert incidents == [] and len(rejected) == 1
        assert rejected[0].reason.startswith(f"{objects[0]['id']}: ")
        assert expected in rejected[0].reason


def test_incident_in_rules_apply():
    objects = edited(name="ab")
    [reason] = reasons(objects)
    assert "title: String should have at least 3 characters" in reason
    objects = good()
    objects[1]["latitude"] = 95.0
    assert "latitude" in reasons(objects)[0]  # stix2 refuses it before IncidentIn sees it


def test_withheld_but_present_is_a_contradiction():
    objects = to_stix(make_record(3), frozenset({"narrative"}))
    objects[0]["description"] = "leaked"
    [reason] = reasons(objects)
    assert "'narrative' is listed as withheld but present" in reason


@pytest.mark.parametrize(
    "obj,expected",
    [
        (42, "object 0: not a JSON object (int)"),
        ({"type": "incident", "id": "incident--not-a-uuid"}, "is not a STIX id"),
        ({"type": "incident", "id": f"location--{uuid.uuid4()}"}, "does not match type"),
        ({"id": f"incident--{uuid.uuid4()}"}, "'type'"),
        (note(spec_version="2.0"), "spec_version"),
        (note(x=float("nan")), "not valid JSON"),
        (note(created="2024-01-01T00:00:00.000Z"), "'modified' is missing"),
    ],
)
def test_malformed_objects(obj, expected):
    [reason] = reasons([obj])
    assert expected in reason


@pytest.mark.parametrize(
    "key,value",
    [("revoked", "true"), ("object_marking_refs", TLP.AMBER.stix_id), ("labels", "armed_attack")],
)
def test_values_stix2_would_coerce_are_refused(key, value):
    objects = edited(2, **{key: value})
    [reason] = reasons(objects)
    assert reason == f"{objects[0]['id']}: {key!r} has the wrong JSON type"


def test_individual_identities_and_forged_tlp_definitions_are_refused():
    person = node_identity(
        node_id=str(uuid.uuid4()), name="x", country="PK", created=datetime(2024, 1, 1)
    )
    person["identity_class"] = "individual"
    forged = tlp_marking_definitions()[0]
    forged["name"] = "TLP:RED"
    got = reasons([person, forged])
    assert "individual identities are not accepted" in got[0]
    assert "differs from the published TLP 2.0" in got[1]


def test_mixed_batch_good_badgood():
    good1, bad, good2 = good(1), edited(6, modified="2000-01-01T00:00:00.000Z"), good(8)
    incidents, rejected, others = parse_inbound([*good1, *bad, *good2])
    assert [i.stix_id for i in incidents] == [good1[0]["id"], good2[0]["id"]]
    assert [r.stix_id for r in rejected] == [bad[0]["id"]]
    assert others == []  # the consumed locations and relationships are not listed again


def test_other_accepted_objects_are_kept_as_given():
    incident = good(1)
    extras = partner_extras(incident)
    bad_note = {k: v for k, v in extras[-5].items() if k != "content"}  # a note needs content
    bad_note["id"] = f"note--{uuid.uuid4()}"
    incidents, rejected, others = parse_inbound([*incident, *extras, bad_note])
    assert len(incidents) == 1
    assert others == extras
    assert [r.stix_id for r in rejected] == [bad_note["id"]]


def test_two_versions_in_one_batch_each_get_their_own_location():
    v1 = to_stix(make_record(1))
    moved = make_record(1, version=3, updated_at="2024-05-03T00:00:00.000Z")
    moved["location"]["lat"] = 29.5
    v2 = to_stix(moved)
    incidents, rejected, others = parse_inbound([*v2, *v1])
    assert rejected == [] and others == []
    assert [(i.version, i.data["location"]["lat"]) for i in incidents] == [
        (3, 29.5),
        (2, v1[1]["latitude"]),
    ]


def test_revoked_incident():
    objects = good(1)
    objects[0]["revoked"] = True
    alone = one_incident(objects[:1])  # a withdrawal needs no location...
    assert alone.revoked is True and alone.data == {}
    assert alone.version == ext_of(objects[0])["version"]
    with_location = one_incident(objects)  # ...but is mapped when the batch holds it
    assert with_location.revoked is True
    assert with_location.data == one_incident(good(1)).data


def test_red_still_maps_and_parses():
    record = make_record(4)
    assert record["tlp"] == "red"
    assert one_incident(to_stix(record)).data["tlp"] == "red"


# --- fuzz: parse_inbound never raises --------------------------------------------------------


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(JSON | st.dictionaries(KEYS, JSON, max_size=6), max_size=5))
def test_fuzz_random_json_never_raises(objects):
    assert_no_crash(objects)


@FUZZ
@given(st.data())
def test_fuzz_mutated_valid_objects_never_raise(data):
    objects = to_stix(
        make_record(data.draw(st.integers(0, 40))), data.draw(st.sampled_from(SUBSETS))
    )
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(objects))
        path = data.draw(st.sampled_from(paths(target)))
        parent = target
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON)
    assert_no_crash(objects)
