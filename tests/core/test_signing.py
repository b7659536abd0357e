"""Signed records: RFC 8785 canonical form, Ed25519 signatures, key rings, rotation, revocation."""

from __future__ import annotations

import json
import stat
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sarhad.core.errors import ConfigError
from sarhad.core.signing import (
    LEGACY_KEY_FILE,
    PROOF_AT,
    RING_FILE,
    Announced,
    NotCanonical,
    Reason,
    Refused,
    Revocation,
    SigningKeys,
    TrustedKey,
    Verified,
    canonical,
    canonical_json,
    fingerprint_of,
    key_id_of,
    new_ring,
    revoke,
    rotate,
    sign_object,
    signed_bytes,
    signed_bytes_json,
    verify_announcement,
    verify_object,
)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
NODE = "7d3c1a52-5a43-4b8e-9a53-6a2f0c1d9e11"
EXT = "extension-definition--0b6b9a44-1f4e-4e85-8c1e-2f2b6b6c7e1a"
AT = ("extensions", EXT, "signature")

# -- RFC 8785 test vectors (the RFC's own: section 3.2.2, 3.2.3 and appendix B) --------------

#: Appendix B: IEEE 754 doubles (hex) and their canonical JSON numbers.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("ieee", "expected"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(ieee: str, expected: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(ieee))
    assert canonical(value) == expected.encode()


@pytest.mark.parametrize("ieee", ["7fffffffffffffff", "7ff0000000000000"])  # NaN, Infinity
def test_rfc8785_appendix_b_values_without_a_json_form(ieee: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(ieee))
    with pytest.raises(NotCanonical):
        canonical(value)


def test_rfc8785_section_3_2_2_example() -> None:
    text = (
        '{\n  "numbers": [333333333.33333329, 1E30, 4.50,\n'
        "              2e-3, 0.000000000000000000000000001],\n"
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
        '  "literals": [null, true, false]\n}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical(json.loads(text)) == expected.encode("utf-8")
    # section 3.2.4: the same, as the UTF-8 bytes the RFC prints in hex
    assert (
        canonical(json.loads(text))
        .hex()
        .startswith("7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d")
    )
    assert "e282ac2400" not in canonical(json.loads(text)).hex()  # U+000F stays escaped
    assert "e282ac245c7530303066" in canonical(json.loads(text)).hex()


def test_rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units() -> None:
    text = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", '
        '"\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", '
        '"\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", '
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    keys = list(json.loads(canonical(json.loads(text))))
    # the emoji (a surrogate pair in UTF-16) sorts before U+FB33, unlike by code point
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_values_json_cannot_carry_exactly_are_refused() -> None:
    for value in (2**53, {"x": float("nan")}, {1: "a"}, "\ud800", object()):
        with pytest.raises(NotCanonical):
            canonical(value)


# -- keys ---------------------------------------------------------------------------------------


def test_key_id_and_fingerprint_are_stable_renderings_of_the_public_key() -> None:
    raw = bytes(range(32))
    assert key_id_of(raw) == "630dcd2966c4336691125448bbb25b4f"
    fp = fingerprint_of(raw)
    assert len(fp.split(" ")) == 8 and all(len(g) == 5 and g.isdigit() for g in fp.split(" "))
    assert fingerprint_of(raw) == fp and fingerprint_of(bytes(32)) != fp


# -- sign and verify ----------------------------------------------------------------------------


def incident() -> dict[str, Any]:
    return {
        "type": "incident",
        "spec_version": "2.1",
        "id": "incident--6d3b1b0e-3c8e-4c7b-9d2a-1e1f2a3b4c5d",
        "created": "2026-11-01T02:00:00.000Z",
        "modified": "2026-11-01T02:00:00.000Z",
        "name": "Fuel convoy intercepted near Taftan",
        "description": "Dozen pickups, diesel; drivers fled towards Mirjaveh. ایران",
        "extensions": {
            EXT: {
                "extension_type": "property-extension",
                "category": "smuggling_fuel",
                "km": 123.4,
                "casualties": {"killed": 0, "injured": 1},
                "seizures": [{"item": "diesel", "quantity": 4000.5, "unit": "l"}],
                "far_from_line": False,
                "sector_id": None,
            }
        },
    }


def test_round_trip_with_the_signature_inside_the_extension() -> None:
    ring = new_ring(now=T0)
    original = incident()
    signed = sign_object(original, ring, at=AT, now=T0 + timedelta(minutes=5))
    assert original == incident()  # the input is never changed
    block = signed["extensions"][EXT]["signature"]
    assert block["alg"] == "Ed25519" and block["key_id"] == ring.active.public.key_id
    assert block["signed_at"] == "2026-11-01T08:05:00.000Z"
    # through JSON text, key order and spacing changed: the canonical form is what counts
    received = json.loads(json.dumps(signed, indent=1, ensure_ascii=True, sort_keys=True))
    result = verify_object(received, ring.by_id(), at=AT, now=T0 + timedelta(hours=1))
    assert isinstance(result, Verified)
    assert result.key.key_id == ring.active.public.key_id
    assert result.signed_at == T0 + timedelta(minutes=5)
    # the default place is a top-level "signature"
    assert isinstance(
        verify_object(sign_object({"a": 1}, ring, now=T0), [ring.active.public], now=T0), Verified
    )


def test_any_changed_character_is_refused() -> None:
    ring = new_ring(now=T0)
    text = json.dumps(sign_object(incident(), ring, at=AT, now=T0), ensure_ascii=False)
    tried = 0
    for i, c in enumerate(text):
        if not c.isalnum():
            continue
        for other in ("7", "x") if c not in "7x" else ("8", "y"):
            try:
                changed = json.loads(text[:i] + other + text[i + 1 :])
            except ValueError:
                continue
            tried += 1
            result = verify_object(changed, ring.by_id(), at=AT, now=T0)
            assert isinstance(result, Refused), f"changed {c!r} at {i} to {other!r}"
            assert result.reason in (
                Reason.BAD_SIGNATURE,
                Reason.MALFORMED,
                Reason.UNKNOWN_KEY,
                Reason.UNSIGNED,
                Reason.KEY_NOT_VALID,
            )
    assert tried > 500
    # a changed content byte is a bad signature, in words
    changed = json.loads(text.replace("Taftan", "Taftam"))
    refused = verify_object(changed, ring.by_id(), at=AT, now=T0)
    assert isinstance(refused, Refused) and refused.reason is Reason.BAD_SIGNATURE
    assert "changed after signing" in str(refused)


def test_unsigned_unknown_key_and_malformed_are_told_apart() -> None:
    ring, stranger = new_ring(now=T0), new_ring(now=T0)
    keys = ring.by_id()

    def reason(obj: Any) -> Reason:
        result = verify_object(obj, keys, at=AT, now=T0)
        assert isinstance(result, Refused)
        return result.reason

    assert reason(incident()) is Reason.UNSIGNED
    assert reason({"type": "incident"}) is Reason.UNSIGNED
    assert reason(sign_object(incident(), stranger, at=AT, now=T0)) is Reason.UNKNOWN_KEY
    signed = sign_object(incident(), ring, at=AT, now=T0)

    def altered(**block: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(signed))
        copy["extensions"][EXT]["signature"].update(block)
        return copy

    assert reason(altered(alg="RS256")) is Reason.MALFORMED
    assert reason(altered(key_id="KEY")) is Reason.MALFORMED
    assert reason(altered(signed_at="yesterday")) is Reason.MALFORMED
    assert reason(altered(signed_at="2026-11-01T08:00:00")) is Reason.MALFORMED  # no offset
    assert reason(altered(value=12)) is Reason.MALFORMED
    value = signed["extensions"][EXT]["signature"]["value"]
    assert reason(altered(value=value[:-1])) is Reason.MALFORMED
    assert reason(altered(value=value + "=")) is Reason.MALFORMED
    # the same 64 bytes spelt differently (spare bits set) is not the signature either
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(value[-1])
    respelt = (
        value[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
    )
    assert reason(altered(value=respelt)) in (Reason.MALFORMED, Reason.BAD_SIGNATURE)
    # the signed time is part of what is signed
    assert reason(altered(signed_at="2026-11-01T07:00:00.000Z")) is Reason.BAD_SIGNATURE
    assert reason({"extensions": []}) is Reason.MALFORMED
    assert reason({"extensions": {EXT: {"signature": "x"}}}) is Reason.MALFORMED
    for junk in (None, [], "text", 7):
        assert reason(junk) is Reason.MALFORMED
    big = dict(signed, count=2**60)  # no canonical form: refused, never an exception
    assert reason(big) is Reason.MALFORMED


def test_a_signature_from_the_future_is_refused() -> None:
    ring = new_ring(now=T0)
    signed = sign_object({"a": 1}, ring, now=T0 + timedelta(hours=2))
    result = verify_object(signed, ring.by_id(), now=T0)
    assert isinstance(result, Refused) and result.reason is Reason.KEY_NOT_VALID
    assert "in the future" in result.detail


# -- rotation and revocation --------------------------------------------------------------------


def test_rotation_keeps_what_the_old_key_signed_verifiable() -> None:
    ring = new_ring(now=T0)
    old = ring.active
    before = sign_object(incident(), ring, at=AT, now=T0 + timedelta(days=1))
    rotated = rotate(ring, node_id=NODE, now=T0 + timedelta(days=2), overlap=timedelta(hours=6))
    assert rotated.active.public.key_id != old.public.key_id
    assert [k.key_id for k in rotated.keys] == [old.public.key_id, rotated.active.public.key_id]
    later = T0 + timedelta(days=400)
    result = verify_object(before, rotated.by_id(), at=AT, now=later)
    assert isinstance(result, Verified) and result.key.key_id == old.public.key_id
    after = sign_object(incident(), rotated, at=AT, now=T0 + timedelta(days=3))
    result = verify_object(after, rotated.by_id(), at=AT, now=later)
    assert isinstance(result, Verified)
    assert result.key.key_id == rotated.active.public.key_id
    # the old key, still held by a process that has not reloaded: valid within the overlap
    in_overlap = sign_object({"a": 1}, old, now=T0 + timedelta(days=2, hours=5))
    assert isinstance(verify_object(in_overlap, rotated.by_id(), now=later), Verified)
    too_late = sign_object({"a": 1}, old, now=T0 + timedelta(days=2, hours=7))
    refused = verify_object(too_late, rotated.by_id(), now=later)
    assert isinstance(refused, Refused) and refused.reason is Reason.KEY_NOT_VALID
    assert "retired" in refused.detail
    with pytest.raises(ValueError, match="overlap"):
        rotate(ring, node_id=NODE, now=T0, overlap=timedelta(days=-1))


def test_revocation_superseded_keeps_the_past_compromised_keeps_nothing() -> None:
    ring = new_ring(now=T0)
    old = ring.active
    ring = rotate(ring, node_id=NODE, now=T0 + timedelta(days=10))
    early = sign_object({"n": 1}, old, now=T0 + timedelta(days=1))
    late = sign_object({"n": 2}, old, now=T0 + timedelta(days=10, hours=1))  # within overlap
    now = T0 + timedelta(days=20)

    superseded = revoke(
        ring,
        old.public.key_id,
        reason=Revocation.SUPERSEDED,
        at=T0 + timedelta(days=5),
        node_id=NODE,
        now=now,
    )
    assert isinstance(verify_object(early, superseded.by_id(), now=now), Verified)
    refused = verify_object(late, superseded.by_id(), now=now)
    assert isinstance(refused, Refused) and refused.reason is Reason.REVOKED_KEY
    assert "superseded" in refused.detail

    compromised = revoke(
        superseded,
        old.public.key_id,
        reason=Revocation.COMPROMISED,
        at=T0 + timedelta(days=15),
        node_id=NODE,
        now=now,
    )
    for signed in (early, late):
        refused = verify_object(signed, compromised.by_id(), now=now)
        assert isinstance(refused, Refused) and refused.reason is Reason.REVOKED_KEY
        assert "compromised" in refused.detail
    # the earlier revocation time stays; nothing is revoked twice for the same reason
    assert compromised.by_id()[old.public.key_id].revoked_at == T0 + timedelta(days=5)
    with pytest.raises(ValueError, match="revoked already"):
        revoke(
            compromised,
            old.public.key_id,
            reason=Revocation.SUPERSEDED,
            at=now,
            node_id=NODE,
            now=now,
        )
    with pytest.raises(ValueError, match="not one of"):
        revoke(ring, "0" * 32, reason=Revocation.SUPERSEDED, at=now, node_id=NODE, now=now)


def test_revoking_the_active_key_puts_a_new_one_in_its_place() -> None:
    ring = new_ring(now=T0)
    old = ring.active
    now = T0 + timedelta(days=3)
    ring = revoke(
        ring, old.public.key_id, reason=Revocation.COMPROMISED, at=now, node_id=NODE, now=now
    )
    assert ring.active.public.key_id != old.public.key_id
    assert ring.by_id()[old.public.key_id].revocation is Revocation.COMPROMISED
    assert isinstance(
        verify_object(sign_object({"a": 1}, ring, now=now), ring.by_id(), now=now), Verified
    )


# -- announcements ------------------------------------------------------------------------------


def test_an_announcement_signed_by_the_outgoing_key_teaches_the_new_key() -> None:
    ring = new_ring(now=T0)
    known = [ring.active.public]  # what the partner registered at the agreement
    rotated = rotate(ring, node_id=NODE, now=T0 + timedelta(days=30))
    doc = json.loads(json.dumps(rotated.announcements[-1]))
    assert doc["signature"]["key_id"] == ring.active.public.key_id  # the outgoing key
    learned = verify_announcement(doc, known, node_id=NODE, now=T0 + timedelta(days=31))
    assert isinstance(learned, Announced) and not learned.signer_compromised
    assert learned.active_key_id == rotated.active.public.key_id
    new = next(k for k in learned.keys if k.key_id == learned.active_key_id)
    assert new.fingerprint == rotated.active.public.fingerprint
    assert next(k for k in learned.keys if k.key_id == ring.active.public.key_id).valid_until == (
        T0 + timedelta(days=31)
    )
    # with the new key learned, what it signs verifies
    signed = sign_object({"a": 1}, rotated, now=T0 + timedelta(days=31))
    assert isinstance(verify_object(signed, learned.keys, now=T0 + timedelta(days=31)), Verified)


def test_announcements_not_from_a_trusted_key_are_refused() -> None:
    ring, stranger = new_ring(now=T0), new_ring(now=T0)
    known = [ring.active.public]
    rotated = rotate(ring, node_id=NODE, now=T0 + timedelta(days=1))
    now = T0 + timedelta(days=2)
    forged = rotate(stranger, node_id=NODE, now=T0 + timedelta(days=1)).announcements[-1]
    refused = verify_announcement(forged, known, node_id=NODE, now=now)
    assert isinstance(refused, Refused) and refused.reason is Reason.UNKNOWN_KEY
    # an extra key slipped into a genuine announcement breaks its signature
    doc = json.loads(json.dumps(rotated.announcements[-1]))
    doc["keys"].append(stranger.active.public.to_json())
    refused = verify_announcement(doc, known, node_id=NODE, now=now)
    assert isinstance(refused, Refused) and refused.reason is Reason.BAD_SIGNATURE
    other_node = verify_announcement(
        rotated.announcements[-1], known, node_id="00000000-0000-0000-0000-000000000000", now=now
    )
    assert isinstance(other_node, Refused)
    assert isinstance(verify_announcement({"type": "x"}, known, node_id=NODE), Refused)


def test_an_announcement_declaring_its_own_key_compromised_is_marked() -> None:
    ring = new_ring(now=T0)
    known = [ring.active.public]
    now = T0 + timedelta(days=3)
    after = revoke(
        ring,
        ring.active.public.key_id,
        reason=Revocation.COMPROMISED,
        at=now,
        node_id=NODE,
        now=now,
    )
    learned = verify_announcement(after.announcements[-1], known, node_id=NODE, now=now)
    assert isinstance(learned, Announced) and learned.signer_compromised


def test_trusted_key_json_round_trip_checks_the_id() -> None:
    key = TrustedKey.of(Ed25519PrivateKey.generate().public_key(), valid_from=T0)
    again = TrustedKey.from_json(json.loads(json.dumps(key.to_json())))
    assert (again.key_id, again.valid_from, again.fingerprint) == (
        key.key_id,
        T0,
        key.fingerprint,
    )
    wrong = dict(key.to_json(), key_id="0" * 32)
    with pytest.raises(ValueError, match="not the id"):
        TrustedKey.from_json(wrong)


# -- the ring file ------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ring_file_is_private_survives_rotation_and_holds_one_private_key(tmp_path: Path) -> None:
    keys = SigningKeys(tmp_path)
    first = keys.ring()
    path = tmp_path / RING_FILE
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert SigningKeys(tmp_path).ring().active.public.key_id == first.active.public.key_id
    # another process rotates; this one notices the replaced file by itself
    SigningKeys(tmp_path).rotate(node_id=NODE)
    assert keys.ring().active.public.key_id != first.active.public.key_id
    assert _mode(path) == 0o600
    body = path.read_text()
    assert body.count("BEGIN PRIVATE KEY") == 1  # the active key's alone
    assert first.active.private_pem() not in body  # the retired private half is gone
    assert len(keys.ring().announcements) == 1
    revoked = keys.revoke(first.active.public.key_id, reason=Revocation.SUPERSEDED, node_id=NODE)
    assert revoked.by_id()[first.active.public.key_id].revocation is Revocation.SUPERSEDED
    assert len(keys.ring().announcements) == 2


def test_an_earlier_versions_bundle_key_becomes_the_rings_first_key(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    legacy = tmp_path / LEGACY_KEY_FILE
    legacy.parent.mkdir(mode=0o700)
    legacy.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ring = SigningKeys(tmp_path).ring()
    assert ring.active.public.key_id == key_id_of(private.public_key())
    assert not legacy.exists()  # one copy of the secret, in the ring
    assert _mode(tmp_path / RING_FILE) == 0o600


def test_a_damaged_ring_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / RING_FILE
    path.parent.mkdir(mode=0o700)
    path.write_text('{"format": "sarhad-signing-keys/1", "keys": []}')
    with pytest.raises(ConfigError, match="damaged") as exc:
        SigningKeys(tmp_path).ring()
    assert "restore" in (exc.value.hint or "")


def test_an_announcement_must_be_signed_by_the_key_it_makes_active_too() -> None:
    ring, stranger = new_ring(now=T0), new_ring(now=T0)
    known = [ring.active.public]
    now = T0 + timedelta(days=1)
    # a node (or whoever holds its key) announcing a key it does not hold: another node's
    doc = {
        "type": "sarhad-key-announcement",
        "version": 1,
        "node_id": NODE,
        "issued_at": "2026-11-02T08:00:00.000Z",
        "active_key_id": stranger.active.public.key_id,
        "keys": [ring.active.public.to_json(), stranger.active.public.to_json()],
    }
    claimed = sign_object(sign_object(doc, ring, at=PROOF_AT, now=now), ring, now=now)
    refused = verify_announcement(claimed, known, node_id=NODE, now=now)
    assert isinstance(refused, Refused) and refused.reason is Reason.UNKNOWN_KEY
    assert "active key's own signature" in refused.detail
    without = dict(rotate(ring, node_id=NODE, now=now).announcements[-1])
    del without["proof"]
    resigned = sign_object({k: v for k, v in without.items() if k != "signature"}, ring, now=now)
    refused = verify_announcement(resigned, known, node_id=NODE, now=now)
    assert isinstance(refused, Refused) and refused.reason is Reason.UNSIGNED


# --- the fast canonical form equals the reference ---------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_the_fast_canonical_form_is_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(NotCanonical):
            canonical(value)
        return
    assert canonical(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        1e-5, 1e-7, 1e16, 1e21, 1.5e300, -0.0, 100.0, 28.95, 2.0**53, 2.0**60, 0.1 + 0.2,
        "\x00\x1f\x7f\"\\/\u2028\U0001f600", {"\ue000": 1, "\U0001f600": 2}, {"é": 1, "z": 2},
    ],
)  # fmt: skip
def test_the_fast_canonical_form_in_corners(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


# --- the canonical form made from JSON text (helper processes check from it) -------------------


def _text(value: Any) -> str:
    """JSON text as the envelope writes each object (``store.canonical``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _same_from_text(value: Any) -> None:
    """``canonical_json`` of ``value``'s text is the canonical form of what it parses."""
    text = _text(value)
    try:
        expected = canonical(json.loads(text))
    except NotCanonical:
        with pytest.raises(NotCanonical):
            canonical_json(text)
        return
    assert canonical_json(text) == expected


@settings(max_examples=400, deadline=None)
@given(_json)
def test_the_canonical_form_from_json_text_is_that_of_what_it_parses(value: Any) -> None:
    _same_from_text(value)


@pytest.mark.parametrize(
    "value",
    [
        {"n": 100.0, "m": -0.0, "k": 2.0**53, "big": 2**60, "f": 28.95},
        {"tiny": 1e-5, "huge": 1e21, "x": [1.5e300, 0.1 + 0.2]},
        {"nan": float("nan")}, {"inf": [float("-inf")]}, {"\ue000": 1, "\U0001f600": 2},
        {"é": "\u2028", "z": {"y": [1, 2.5, None, True]}}, {"lone": "\ud800"},
    ],
)  # fmt: skip
def test_the_canonical_form_from_json_text_in_corners(value: Any) -> None:
    _same_from_text(value)


def test_signed_bytes_from_json_text_are_those_of_the_object() -> None:
    ring = new_ring(now=T0)
    signed = sign_object(
        {"type": "incident", "extensions": {EXT: {"count": 3.0, "km": 10.3086}}},
        ring,
        at=AT,
        now=T0,
    )
    assert signed_bytes_json(_text(signed), AT) == signed_bytes(signed, AT)
    assert b'"value"' not in signed_bytes_json(_text(signed), AT)
    odd = json.loads(_text(signed))
    odd["extensions"][EXT]["count"] = 2**60  # beyond I-JSON: the reference decides
    with pytest.raises(NotCanonical):
        signed_bytes_json(_text(odd), AT)
