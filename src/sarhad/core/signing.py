"""Records signed by the node that made them: Ed25519 over RFC 8785 JSON, and the node's key ring.

**Keys.** Each node holds a ring of Ed25519 keys in one file, ``DATA_DIR/keys/signing-keys.json``
(mode 600, replaced atomically). One key is active: it alone signs. Earlier keys keep their
public half and their validity window only, so what they signed stays verifiable, and their
private half is destroyed at rotation.

* **key id**: the first 16 bytes of SHA-256 of the raw 32-byte public key, as 32 lowercase hex
  digits (``key_id_of``). It names the key inside every signature.
* **fingerprint**: SHA-256 of the raw public key as 8 groups of 5 decimal digits, each group a
  4-byte slice of the digest modulo 100000 (about 16.6 bits a group, 133 bits in all;
  ``fingerprint_of``). Liaison officers read it over the phone to confirm a key by another
  channel. Digits, because an officer says them alike in Urdu, Persian or English; the letters
  a-f of a hex fingerprint would have to be spelt out in a script neither side writes in.

**Signatures.** ``sign_object`` puts ``{"alg": "Ed25519", "key_id", "signed_at", "value"}`` at
a path inside a JSON object (for STIX, inside the Sarhad extension; the path is a parameter).
``value`` (base64url without padding) signs the RFC 8785 canonical form of the whole object
with only ``value`` removed: the key id, the algorithm and the signing time are signed too.

**Verification** (``verify_object``) answers ``Verified`` or ``Refused`` with one reason:

* ``unsigned``: no signature at the path;
* ``malformed``: a signature that is not of the form above, or content RFC 8785 cannot
  represent (an integer beyond 2**53, NaN, a lone surrogate);
* ``unknown key``: the key id is not one of the keys given (the originator's);
* ``bad signature``: the content changed after signing (one byte is enough), or another key
  signed it;
* ``revoked key``: a key revoked as **compromised** fails for everything it ever signed (who
  stole it can sign with any date); a key revoked as **superseded** at time T fails for what
  it signed at or after T, and what it signed before T stays valid;
* ``key not valid then``: signed before the key's ``valid_from`` (less the clock skew), after
  its ``valid_until``, or more than the clock skew in the future.

The signing time is the signer's own word. That is safe for every key but a stolen one: a
retired key's private half no longer exists, so no one can sign with it again, backdated or
not. A stolen key is what ``compromised`` is for.

**Rotation** (``rotate``): a new key becomes active at once; the outgoing key signs nothing
more and stays valid for signatures made until the end of the overlap period (default
24 hours), which covers a process that still holds the old ring for a while and clocks that
differ. What it signed before stays verifiable for good. **Revocation** (``revoke``) marks a
key with a time and a reason; revoking the active key rotates first.

**Announcements.** Every rotation and revocation leaves a *key announcement* in the ring: the
node's whole key set (public halves, windows, revocations), signed first by its active key
(the proof that the node holds the key it announces) and then by the key partners already
trust: the outgoing key at a rotation, the active key otherwise. A partner checks both with
``verify_announcement`` against a key it already trusts for that node, then takes the new
active key and the revocations. A revocation is always taken (it only takes trust away); the
new key is not taken from an announcement whose signing key it declares compromised: after a
compromise the new key is confirmed by fingerprint, by another channel.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import rfc8785
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.core.errors import ConfigError
from sarhad.core.i18n import message
from sarhad.core.labels import word
from sarhad.core.sealing import PRIVATE_DIR, PRIVATE_FILE, write_private
from sarhad.core.times import CLOCK_SKEW

log = logging.getLogger("sarhad.signing")

ALG = "Ed25519"
#: Where ``sign_object`` puts the signature unless told otherwise.
DEFAULT_AT: tuple[str, ...] = ("signature",)
#: How long an outgoing key stays valid for signatures made after a rotation.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=30)
KEY_ID = re.compile(r"[0-9a-f]{32}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_SIGNATURE_SIZE = 64


# -- canonical form and encodings -----------------------------------------------------------


class NotCanonical(ValueError):
    """A value RFC 8785 cannot represent: NaN or infinity, an integer beyond 2**53, a lone
    surrogate, a key that is not a string, or something that is not JSON at all."""


class _Slow(Exception):
    """A value the fast path does not spell as RFC 8785 does: the reference serialiser decides."""


_MAX_EXACT = 2**53 - 1  # the largest integer RFC 8785 (I-JSON) takes
#: ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, with the
#: encoder built once: json.dumps builds a new one per call when given options (≈ 2 µs, as
#: much as encoding a small object; a signed record's check encodes three).
_SORTED_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _plain(value: Any) -> Any:
    """``value`` with what the standard library would spell otherwise than RFC 8785 made
    plain (integral floats as ints), or ``_Slow`` where it cannot be (see ``canonical``).

    Hot (every signature and digest walks a whole record): exact type tests first, and a
    container is copied only when something in it changed.
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is dict:
        out = None
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise _Slow  # RFC 8785 sorts by UTF-16 code units, Python by code points
            w = v if type(v) is str else _plain(v)
            if w is not v:
                if out is None:
                    out = dict(value)
                out[k] = w
        return value if out is None else out
    if kind is list or kind is tuple:
        items = [v if type(v) is str else _plain(v) for v in value]
        return (
            value
            if kind is list and all(a is b for a, b in zip(items, value, strict=True))
            else items
        )
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_MAX_EXACT <= value <= _MAX_EXACT:
            return value
        raise _Slow
    if isinstance(value, float):
        if value.is_integer():
            if -_MAX_EXACT <= value <= _MAX_EXACT:
                return int(value)  # ES6 writes 100.0 as 100 and -0.0 as 0
            raise _Slow  # ES6 writes the shortest digits then zeros, Python all of them
        if 1e-4 <= abs(value) < 1e16:
            return value  # both write the shortest round-trip digits, in fixed notation
        raise _Slow  # exponents are spelt differently (1e-05 / 1e-5), as are NaN and inf
    if isinstance(value, str):
        return value  # a str subclass: json.dumps writes it as a str
    if isinstance(value, dict):
        return _plain(dict(value))
    if isinstance(value, list | tuple):
        return _plain(list(value))
    raise _Slow


def canonical(value: Any) -> bytes:
    """The RFC 8785 (JSON Canonicalization Scheme) form of ``value``, as UTF-8 bytes.

    Fast path: for what the standard library writes exactly as RFC 8785 does (ASCII keys,
    integers within 2**53, floats in fixed notation, strings: both escape only the quote,
    the backslash and control characters, in lowercase ``\\u00xx``), ``json.dumps`` with
    sorted keys, ~10× faster; anything else goes to Trail of Bits' ``rfc8785``, the reference
    (tests/core/test_signing.py holds them equal).

    >>> canonical({"b": [1.0, "€"], "a": None})
    b'{"a":null,"b":[1,"\\xe2\\x82\\xac"]}'
    """
    try:
        text = _SORTED_COMPACT(_plain(value))
        return text.encode("utf-8")  # a lone surrogate raises here: the reference decides
    except (_Slow, UnicodeEncodeError, RecursionError, ValueError):
        pass
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise NotCanonical(str(exc)) from None
    except RecursionError:
        raise NotCanonical("nested too deeply") from None


def _json_float(text: str) -> float | int:
    value = float(text)
    if value.is_integer():
        if -_MAX_EXACT <= value <= _MAX_EXACT:
            return int(value)  # as _plain: ES6 writes 100.0 as 100
        raise _Slow
    if 1e-4 <= abs(value) < 1e16:
        return value
    raise _Slow


def _json_int(text: str) -> int:
    value = int(text)
    if -_MAX_EXACT <= value <= _MAX_EXACT:
        return value
    raise _Slow


def _json_constant(text: str) -> Any:
    raise _Slow  # NaN, Infinity: the reference refuses them


#: ``json.loads`` that makes numbers plain as ``_plain`` does while it parses (hooks on each
#: number literal cost less than a second walk over the parsed value).
_PLAIN_DECODER = json.JSONDecoder(
    parse_float=_json_float, parse_int=_json_int, parse_constant=_json_constant
)


def _plain_json(text: str) -> Any:
    """``_plain(json.loads(text))`` for ASCII text; ``_Slow`` as ``_plain`` raises it."""
    if not text.isascii():
        raise _Slow  # a non-ASCII key sorts by UTF-16 code units in RFC 8785
    return _PLAIN_DECODER.decode(text)


def canonical_json(text: str) -> bytes:
    """``canonical(json.loads(text))``, with the numbers made plain while parsing.

    >>> canonical_json('{"b":[1.0,2.5],"a":null}')
    b'{"a":null,"b":[1,2.5]}'
    """
    try:
        return _SORTED_COMPACT(_plain_json(text)).encode("utf-8")
    except (_Slow, RecursionError, ValueError):
        return canonical(json.loads(text))


def signed_bytes_json(text: str, at: Sequence[str] = DEFAULT_AT) -> bytes:
    """``signed_bytes(json.loads(text), at)``, with the numbers made plain while parsing."""
    try:
        obj = _plain_json(text)
    except (_Slow, RecursionError, ValueError):
        return signed_bytes(json.loads(text), at)
    return _SORTED_COMPACT(_without_value(obj, at)).encode("utf-8")


def b64url(data: bytes) -> str:
    """``data`` as base64url without padding (RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str, *, size: int) -> bytes:
    """Decode base64url of exactly ``size`` bytes, refusing any other spelling of them.

    Why strict: the lenient decoder skips characters outside the alphabet and ignores spare
    bits, so one changed character of a signature could still decode to the same bytes.
    """
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if len(data) != size or b64url(data) != text:
        raise ValueError(f"not the base64url of {size} bytes")
    return data


def timestamp(at: datetime) -> str:
    """``at`` in UTC as RFC 3339 with milliseconds and ``Z``, as STIX writes times."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_timestamp(text: Any) -> datetime:
    """An RFC 3339 time with its offset, as an aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("not a time")
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("a time without its offset")
    return at.astimezone(UTC)


# -- keys ---------------------------------------------------------------------------------------


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key (RFC 8032)."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _public(key: Ed25519PublicKey | bytes) -> bytes:
    return key if isinstance(key, bytes) else raw_public(key)


def key_id_of(key: Ed25519PublicKey | bytes) -> str:
    """The key id: the first 16 bytes of SHA-256 of the raw public key, in lowercase hex."""
    return hashlib.sha256(_public(key)).digest()[:16].hex()


def fingerprint_of(key: Ed25519PublicKey | bytes) -> str:
    """The fingerprint read over the phone: 8 groups of 5 digits from SHA-256 of the raw key.

    >>> fingerprint_of(bytes(32))
    '23181 20599 60523 21280 18917 18131 94429 40261'
    """
    digest = hashlib.sha256(_public(key)).digest()
    groups = (int.from_bytes(digest[i : i + 4], "big") % 100_000 for i in range(0, 32, 4))
    return " ".join(f"{g:05d}" for g in groups)


def public_pem(key: Ed25519PublicKey) -> str:
    """A public key as PEM (SubjectPublicKeyInfo), the form partners exchange."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(pem: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key in PEM; ValueError saying what is wrong otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError(message("signing.not_pem", "not a PEM public key")) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(message("signing.not_ed25519_public", "not an Ed25519 public key"))
    return key


def load_public_raw(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from the base64url of its 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(from_b64url(text, size=32))


class Revocation(StrEnum):
    """Why a key was revoked, which decides what it signed before stays valid."""

    SUPERSEDED = "superseded"  # retired in good order: what it signed before stays valid
    COMPROMISED = "compromised"  # someone else may hold it: nothing it signed is trusted


class Reason(StrEnum):
    """Why a signature was refused."""

    UNSIGNED = "unsigned"
    MALFORMED = "malformed signature"
    UNKNOWN_KEY = "unknown key"
    BAD_SIGNATURE = "bad signature"
    REVOKED_KEY = "revoked key"
    KEY_NOT_VALID = "key not valid then"


def _day(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, eq=False)
class TrustedKey:
    """A public key of one node with its validity window and revocation, if any."""

    key_id: str
    key: Ed25519PublicKey
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    revocation: Revocation | None = None

    def __post_init__(self) -> None:
        if (self.revoked_at is None) != (self.revocation is None):
            raise ValueError("a revocation needs both a time and a reason")
        if self.key_id != key_id_of(self.key):
            raise ValueError(f"key id {self.key_id} is not the id of this key")

    @classmethod
    def of(
        cls,
        key: Ed25519PublicKey,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        revoked_at: datetime | None = None,
        revocation: Revocation | None = None,
    ) -> TrustedKey:
        """A key with its id computed."""
        return cls(key_id_of(key), key, valid_from, valid_until, revoked_at, revocation)

    @cached_property
    def raw(self) -> bytes:
        """The 32 raw bytes of the key (what a helper process is handed to check with)."""
        return raw_public(self.key)

    @property
    def fingerprint(self) -> str:
        """The fingerprint read over the phone (``fingerprint_of``)."""
        return fingerprint_of(self.key)

    @property
    def pem(self) -> str:
        """The public key as PEM."""
        return public_pem(self.key)

    def state(self, now: datetime) -> str:
        """``revoked``, ``retired`` (its window ended), ``not yet valid`` or ``valid``."""
        if self.revocation is not None:
            return "revoked"
        if self.valid_until is not None and now > self.valid_until:
            return "retired"
        if self.valid_from is not None and now < self.valid_from - CLOCK_SKEW:
            return "not yet valid"
        return "valid"

    def problem(self, signed_at: datetime, *, now: datetime) -> Refused | None:
        """Why a signature this key made at ``signed_at`` is not to be trusted, if it is not."""
        kid = self.key_id
        if self.revocation is Revocation.COMPROMISED:
            assert self.revoked_at is not None
            return Refused(
                Reason.REVOKED_KEY,
                f"key {kid} was revoked as compromised on {_day(self.revoked_at)}: "
                "nothing it signed is trusted",
            )
        if self.revoked_at is not None and signed_at >= self.revoked_at:
            return Refused(
                Reason.REVOKED_KEY,
                f"key {kid} was revoked ({self.revocation}) on {_day(self.revoked_at)} and "
                f"this was signed on {_day(signed_at)}",
            )
        if signed_at > now + CLOCK_SKEW:
            return Refused(Reason.KEY_NOT_VALID, f"signed on {_day(signed_at)}, in the future")
        if self.valid_from is not None and signed_at < self.valid_from - CLOCK_SKEW:
            return Refused(
                Reason.KEY_NOT_VALID,
                f"signed on {_day(signed_at)}, before key {kid} was valid "
                f"(from {_day(self.valid_from)})",
            )
        if self.valid_until is not None and signed_at > self.valid_until:
            return Refused(
                Reason.KEY_NOT_VALID,
                f"signed on {_day(signed_at)}, after key {kid} was retired "
                f"(valid until {_day(self.valid_until)})",
            )
        return None

    def to_json(self) -> dict[str, Any]:
        """The public facts of the key, as announcements and the ring file hold them."""

        def t(at: datetime | None) -> str | None:
            return None if at is None else timestamp(at)

        return {
            "key_id": self.key_id,
            "alg": ALG,
            "public_key": b64url(raw_public(self.key)),
            "valid_from": t(self.valid_from),
            "valid_until": t(self.valid_until),
            "revoked_at": t(self.revoked_at),
            "revocation": None if self.revocation is None else self.revocation.value,
        }

    @classmethod
    def from_json(cls, data: Any) -> TrustedKey:
        """The inverse of ``to_json``; ValueError naming what is wrong (the id is checked)."""
        if not isinstance(data, Mapping):
            raise ValueError("a key is not an object")
        if data.get("alg") != ALG:
            raise ValueError(f"algorithm {data.get('alg')!r} is not {ALG}")
        if not isinstance(data.get("public_key"), str):
            raise ValueError("public_key is missing")
        key = load_public_raw(data["public_key"])

        def t(name: str) -> datetime | None:
            value = data.get(name)
            return None if value is None else parse_timestamp(value)

        reason = data.get("revocation")
        if reason is not None and reason not in tuple(Revocation):
            raise ValueError(f"revocation {reason!r} is neither superseded nor compromised")
        kid = data.get("key_id")
        if kid != key_id_of(key):
            raise ValueError(f"key_id {kid!r} is not the id of the key given")
        return cls(
            kid,
            key,
            valid_from=t("valid_from"),
            valid_until=t("valid_until"),
            revoked_at=t("revoked_at"),
            revocation=None if reason is None else Revocation(reason),
        )


@dataclass(frozen=True, eq=False)
class SigningKey:
    """A key with its private half: the ring's active key."""

    private: Ed25519PrivateKey
    public: TrustedKey

    @classmethod
    def generate(cls, *, valid_from: datetime | None) -> SigningKey:
        """A fresh key, valid from ``valid_from``."""
        private = Ed25519PrivateKey.generate()
        return cls(private, TrustedKey.of(private.public_key(), valid_from=valid_from))

    def private_pem(self) -> str:
        """The private half as unencrypted PKCS#8 PEM (for the mode-600 ring file only)."""
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")


# -- signing and verifying ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A signature that holds: which key made it, and when it says it was made."""

    ok: ClassVar[bool] = True
    key: TrustedKey
    signed_at: datetime


@dataclass(frozen=True)
class Refused:
    """A signature that does not hold (or is missing), and why."""

    ok: ClassVar[bool] = False
    reason: Reason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def _with(obj: Mapping[str, Any], at: Sequence[str], block: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with ``block`` at path ``at``; only the objects along the path are
    copied (the rest is shared, and nothing is changed in place)."""
    if not at:
        raise ValueError("the signature path is empty")
    top = dict(obj)
    node = top
    for name in at[:-1]:
        child = node.get(name)
        if child is None:
            child = {}
        elif not isinstance(child, Mapping):
            raise ValueError(f"{name} is not an object, so no signature can go inside it")
        node[name] = child = dict(child)
        node = child
    node[at[-1]] = dict(block)
    return top


def signature_block(obj: Any, at: Sequence[str] = DEFAULT_AT) -> Mapping[str, Any] | Refused:
    """The signature found at ``at`` in ``obj`` (unchecked), or why there is none."""
    node: Any = obj
    for depth, name in enumerate(at):
        if not isinstance(node, Mapping):
            where = ".".join(at[:depth]) or "the object"
            return Refused(Reason.MALFORMED, f"{where} is not an object")
        if name not in node:
            return Refused(Reason.UNSIGNED, f"no signature at {'.'.join(at)}")
        node = node[name]
    if not isinstance(node, Mapping):
        return Refused(Reason.MALFORMED, f"{'.'.join(at)} is not an object")
    return node


def sign_object(
    obj: Mapping[str, Any],
    signer: KeyRing | SigningKey,
    *,
    at: Sequence[str] = DEFAULT_AT,
    now: datetime | None = None,
    covers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A copy of ``obj`` signed by the ring's active key, the signature at path ``at``.

    The signature covers the canonical form of the object with the finished signature
    minus its ``value``. ``covers`` ({object id: ``digest``}, see ``covers_of``) binds other
    objects that travel with this one (a record's parts) into the signature by their digest:
    one signature for a whole record. Raises ``NotCanonical`` for content RFC 8785 cannot
    represent, and ValueError when something along ``at`` is not an object.
    """
    key = signer.active if isinstance(signer, KeyRing) else signer
    block: dict[str, Any] = {
        "alg": ALG,
        "key_id": key.public.key_id,
        "signed_at": timestamp(now or datetime.now(UTC)),
    }
    if covers is not None:
        block["covers"] = dict(covers)
    value = key.private.sign(canonical(_with(obj, at, block)))
    return _with(obj, at, {**block, "value": b64url(value)})


def verify_object(
    obj: Any,
    keys: Mapping[str, TrustedKey] | Iterable[TrustedKey],
    *,
    at: Sequence[str] = DEFAULT_AT,
    now: datetime | None = None,
) -> Verified | Refused:
    """Check the signature at ``at`` against ``keys`` (the originator's, by key id or listed).

    Never raises for anything in ``obj``: every problem is a ``Refused`` with its reason.
    ``prepare`` and ``Prepared`` are the same check in two steps.
    """
    prepared = prepare(obj, keys, at=at)
    if isinstance(prepared, Refused):
        return prepared
    return prepared.outcome(prepared.holds(), now=now)


@dataclass(frozen=True)
class Form:
    """A signature whose form was checked and whose key was found: what is left is the
    Ed25519 check over the signed bytes (``signed_bytes``) and the key's window (``outcome``).

    Why apart: the signed bytes and the check need only the object's JSON and bytes, so a
    batch's can be made on a helper process while this thread goes on (``core.verifier``,
    ``federation.types.base.verify_all``).
    """

    key: TrustedKey
    signature: bytes
    signed_at: datetime

    def outcome(self, holds: bool, *, now: datetime | None = None) -> Verified | Refused:
        """``verify_object``'s answer, given whether the signature holds over the bytes."""
        if not holds:
            return Refused(
                Reason.BAD_SIGNATURE,
                f"the content does not match its signature by key {self.key.key_id}: "
                "changed after signing",
            )
        problem = self.key.problem(self.signed_at, now=now or datetime.now(UTC))
        return problem or Verified(key=self.key, signed_at=self.signed_at)


@dataclass(frozen=True)
class Prepared(Form):
    """A checked ``Form`` with the signed bytes encoded: ``holds`` is the Ed25519 check."""

    content: bytes

    def holds(self) -> bool:
        """Whether the Ed25519 signature holds over the content (the key's window aside)."""
        try:
            self.key.key.verify(self.signature, self.content)
        except InvalidSignature:
            return False
        return True


#: Why the signed bytes of an object cannot be made (the reason ``prepare`` gives).
NO_CANONICAL_FORM = "the content has no canonical form"


def signed_bytes(obj: Any, at: Sequence[str] = DEFAULT_AT) -> bytes:
    """The bytes a signature at ``at`` signs: the canonical form of ``obj`` with its
    signature minus ``value``. Raises ``NotCanonical`` (and ValueError where ``at`` holds
    no signature block: ``check_form`` first)."""
    return canonical(_without_value(obj, at))


def _without_value(obj: Any, at: Sequence[str]) -> Any:
    found = signature_block(obj, at)
    if isinstance(found, Refused):
        raise ValueError(found.detail)
    return _with(obj, at, {k: v for k, v in found.items() if k != "value"})


def check_form(
    obj: Any,
    keys: Mapping[str, TrustedKey] | Iterable[TrustedKey],
    *,
    at: Sequence[str] = DEFAULT_AT,
) -> Form | Refused:
    """The signature's form and its key among ``keys``; ``Refused`` with the reason where
    one of them fails."""
    found = signature_block(obj, at)
    if isinstance(found, Refused):
        return found
    value, alg, kid = found.get("value"), found.get("alg"), found.get("key_id")
    if alg != ALG:
        return Refused(Reason.MALFORMED, f"algorithm {str(alg)[:40]!r} is not {ALG}")
    if not isinstance(kid, str) or not KEY_ID.fullmatch(kid):
        return Refused(Reason.MALFORMED, "key_id is not 32 lowercase hex digits")
    try:
        signed_at = parse_timestamp(found.get("signed_at"))
    except ValueError:
        return Refused(Reason.MALFORMED, "signed_at is not an RFC 3339 time")
    try:
        signature = from_b64url(value, size=_SIGNATURE_SIZE) if isinstance(value, str) else b""
    except ValueError:
        signature = b""
    if not signature:
        return Refused(Reason.MALFORMED, "value is not the base64url of a 64-byte signature")
    table = keys if isinstance(keys, Mapping) else {k.key_id: k for k in keys}
    key = table.get(kid)
    if key is None:
        return Refused(Reason.UNKNOWN_KEY, f"key {kid} is not one of the originator's keys")
    return Form(key=key, signature=signature, signed_at=signed_at)


def prepare(
    obj: Any,
    keys: Mapping[str, TrustedKey] | Iterable[TrustedKey],
    *,
    at: Sequence[str] = DEFAULT_AT,
) -> Prepared | Refused:
    """The first step of ``verify_object``: ``check_form`` and the bytes it signs;
    ``Refused`` with the reason where one of them fails."""
    form = check_form(obj, keys, at=at)
    if isinstance(form, Refused):
        return form
    try:
        content = signed_bytes(obj, at)
    except NotCanonical as exc:
        return Refused(Reason.MALFORMED, f"{NO_CANONICAL_FORM} ({exc})")
    return Prepared(
        key=form.key, signature=form.signature, signed_at=form.signed_at, content=content
    )


def digest(obj: Any) -> str:
    """SHA-256 of the RFC 8785 form of ``obj``, in lowercase hex: how a signature covers a
    part. Raises ``NotCanonical`` for content RFC 8785 cannot represent."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def covers_of(parts: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The ``covers`` of a signature over ``parts``: {part id: ``digest`` of the part}."""
    return {str(p["id"]): digest(p) for p in parts}


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_covers(
    obj: Any,
    parts: Iterable[Any],
    *,
    at: Sequence[str] = DEFAULT_AT,
    digests: Sequence[str | None] | None = None,
) -> Refused | None:
    """Whether the parts that travel with ``obj`` are the ones its signature covers
    (None: they are). Call it after ``verify_object`` said the signature holds.

    Each covered part must be among ``parts`` unchanged (its ``digest`` as signed). A part of
    the same version as ``obj`` (same ``modified``) that is not covered is refused too: no
    one adds to a signed record. Parts of other versions (a batch may hold several versions
    of one record) are not this signature's business. ``digests``: each part's ``digest``
    made already, in order (None: it has no canonical form). Never raises for anything in
    ``obj``.
    """
    found = signature_block(obj, at)
    if isinstance(found, Refused):
        return found
    covers = found.get("covers", {})
    if not isinstance(covers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and _SHA256_HEX.fullmatch(v)
        for k, v in covers.items()
    ):
        return Refused(Reason.MALFORMED, "covers is not a map of ids to SHA-256 digests")
    version = obj.get("modified") if isinstance(obj, Mapping) else None
    matched: set[str] = set()
    for n, part in enumerate(parts):
        pid = part.get("id") if isinstance(part, Mapping) else None
        if not isinstance(pid, str):
            continue
        want = covers.get(pid)
        same_version = part.get("modified") == version
        if want is None:
            if same_version:
                return Refused(Reason.BAD_SIGNATURE, f"part {pid[:80]} is not covered by it")
            continue
        if digests is not None:
            ok = digests[n] == want
        else:
            try:
                ok = digest(part) == want
            except NotCanonical:
                ok = False
        if ok:
            matched.add(pid)
        elif same_version:
            return Refused(Reason.BAD_SIGNATURE, f"part {pid[:80]} was changed after signing")
    missing = sorted(set(covers) - matched)
    if missing:
        return Refused(
            Reason.BAD_SIGNATURE,
            f"part {missing[0][:80]} is missing or was changed after signing",
        )
    return None


# -- the ring -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class KeyRing:
    """A node's keys: the active one (with its private half) and every earlier one."""

    active: SigningKey
    keys: tuple[TrustedKey, ...]  # oldest first; the active key's public half among them
    announcements: tuple[dict[str, Any], ...] = ()  # oldest first

    def __post_init__(self) -> None:
        ids = [k.key_id for k in self.keys]
        if len(set(ids)) != len(ids) or self.active.public.key_id not in ids:
            raise ValueError("a ring lists each key once, the active key among them")

    def key(self, key_id: str) -> TrustedKey | None:
        """The key with this id, if it is in the ring."""
        return next((k for k in self.keys if k.key_id == key_id), None)

    def by_id(self) -> dict[str, TrustedKey]:
        """Every key by id, to verify what this node signed."""
        return {k.key_id: k for k in self.keys}


def new_ring(*, now: datetime) -> KeyRing:
    """A ring with one fresh key, valid from ``now``."""
    key = SigningKey.generate(valid_from=now)
    return KeyRing(active=key, keys=(key.public,))


ANNOUNCEMENT = "sarhad-key-announcement"
ANNOUNCEMENT_VERSION = 1


#: Where the announcing key set's active key signs the announcement itself (proof that whoever
#: announces the key holds it); the trusted key's signature, over all of it, is at DEFAULT_AT.
PROOF_AT: tuple[str, ...] = ("proof",)


def announcement(
    ring: KeyRing, *, node_id: str, now: datetime, signer: SigningKey | None = None
) -> dict[str, Any]:
    """The ring's key set as a document signed by ``signer`` (default: the active key).

    The active key first signs the document at ``PROOF_AT``; ``signer``'s signature then
    covers the document with that proof.
    """
    doc = {
        "type": ANNOUNCEMENT,
        "version": ANNOUNCEMENT_VERSION,
        "node_id": node_id,
        "issued_at": timestamp(now),
        "active_key_id": ring.active.public.key_id,
        "keys": [k.to_json() for k in ring.keys],
    }
    proven = sign_object(doc, ring.active, at=PROOF_AT, now=now)
    return sign_object(proven, signer or ring.active, now=now)


def _changed(
    ring: KeyRing,
    *,
    keys: Iterable[TrustedKey],
    active: SigningKey,
    signer: SigningKey,
    node_id: str,
    now: datetime,
) -> KeyRing:
    changed = KeyRing(active=active, keys=tuple(keys), announcements=ring.announcements)
    said = announcement(changed, node_id=node_id, now=now, signer=signer)
    return replace(changed, announcements=(*ring.announcements, said))


def rotate(
    ring: KeyRing, *, node_id: str, now: datetime, overlap: timedelta = DEFAULT_OVERLAP
) -> KeyRing:
    """A new key signs from ``now``; the outgoing one stays valid until ``now + overlap``.

    The announcement of the new key set is signed by the outgoing key, which partners trust.
    """
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValueError(f"the overlap is between 0 and {MAX_OVERLAP.days} days")
    new = SigningKey.generate(valid_from=now)
    outgoing = replace(ring.active.public, valid_until=now + overlap)
    keys = [outgoing if k.key_id == outgoing.key_id else k for k in ring.keys] + [new.public]
    return _changed(ring, keys=keys, active=new, signer=ring.active, node_id=node_id, now=now)


def revoke(
    ring: KeyRing,
    key_id: str,
    *,
    reason: Revocation,
    at: datetime,
    node_id: str,
    now: datetime,
) -> KeyRing:
    """Revoke one of the ring's keys from ``at`` (not later than now) for ``reason``.

    Revoking the active key first puts a new key in its place: the announcement is then
    signed by the revoked key, which partners still trust. A superseded key may later be
    revoked as compromised; nothing is revoked twice for the same reason.
    """
    target = ring.key(key_id)
    if target is None:
        raise ValueError(
            message("keys.not_ours", "key {id} is not one of this node's keys", id=key_id)
        )
    if at > now + CLOCK_SKEW:
        raise ValueError(
            message(
                "signing.revoke_future",
                "a revocation takes effect now or earlier, not in the future",
            )
        )
    if target.revocation is Revocation.COMPROMISED or target.revocation is reason:
        raise ValueError(
            message(
                "keys.revoked_already",
                "key {id} is revoked already ({revocation})",
                id=key_id,
                revocation=word("revocation", target.revocation),
            )
        )
    since = at if target.revoked_at is None else min(at, target.revoked_at)
    revoked = replace(target, revoked_at=since, revocation=reason)
    active, signer = ring.active, ring.active
    if key_id == ring.active.public.key_id:
        active = SigningKey.generate(valid_from=now)
        revoked = replace(revoked, valid_until=min(since, now))
    keys = [revoked if k.key_id == key_id else k for k in ring.keys]
    if active is not ring.active:
        keys.append(active.public)
    return _changed(ring, keys=keys, active=active, signer=signer, node_id=node_id, now=now)


@dataclass(frozen=True)
class Announced:
    """A verified key announcement of one node."""

    node_id: str
    issued_at: datetime
    signer: TrustedKey  # the already-trusted key that signed it
    active_key_id: str
    keys: tuple[TrustedKey, ...]

    @property
    def signer_compromised(self) -> bool:
        """Whether the announcement itself declares its signing key compromised: then its
        revocations are taken and its new keys are not."""
        return any(
            k.key_id == self.signer.key_id and k.revocation is Revocation.COMPROMISED
            for k in self.keys
        )


def verify_announcement(
    doc: Any,
    trusted: Mapping[str, TrustedKey] | Iterable[TrustedKey],
    *,
    node_id: str,
    now: datetime | None = None,
) -> Announced | Refused:
    """Check a key announcement of ``node_id`` against keys already trusted for that node,
    and that its active key signed it too (so no node announces a key it does not hold)."""
    if not isinstance(doc, Mapping) or doc.get("type") != ANNOUNCEMENT:
        return Refused(Reason.MALFORMED, "not a key announcement")
    if doc.get("version") != ANNOUNCEMENT_VERSION:
        return Refused(Reason.MALFORMED, f"announcement version {doc.get('version')!r} unknown")
    if doc.get("node_id") != node_id:
        return Refused(
            Reason.MALFORMED,
            f"the announcement is about node {str(doc.get('node_id'))[:40]!r}, not {node_id}",
        )
    checked = verify_object(doc, trusted, now=now)
    if isinstance(checked, Refused):
        return checked
    try:
        keys = tuple(TrustedKey.from_json(k) for k in doc["keys"])
        issued_at = parse_timestamp(doc["issued_at"])
    except (KeyError, TypeError, ValueError) as exc:
        return Refused(Reason.MALFORMED, f"the announcement's keys are not readable ({exc})")
    active = next((k for k in keys if k.key_id == doc.get("active_key_id")), None)
    if len({k.key_id for k in keys}) != len(keys) or active is None:
        return Refused(Reason.MALFORMED, "the announcement lists a key twice or not its active key")
    unsigned = {name: value for name, value in doc.items() if name != DEFAULT_AT[0]}
    proof = verify_object(unsigned, [active], at=PROOF_AT, now=now)
    if isinstance(proof, Refused):
        return Refused(proof.reason, f"the announced active key's own signature: {proof.detail}")
    return Announced(
        node_id=node_id,
        issued_at=issued_at,
        signer=checked.key,
        active_key_id=active.key_id,
        keys=keys,
    )


# -- the ring file ------------------------------------------------------------------------------

RING_FILE = Path("keys") / "signing-keys.json"
#: The single bundle key of earlier versions: taken into the ring once, then removed.
LEGACY_KEY_FILE = Path("keys") / "node-ed25519.pem"
FORMAT = "sarhad-signing-keys/1"
_ABOUT = (
    "Sarhad signing keys of this node. The private key signs what the node shares: keep this "
    "file secret (mode 600) and back it up with the data folder (docs/operations.md)."
)


def _dump(ring: KeyRing) -> bytes:
    doc = {
        "format": FORMAT,
        "about": _ABOUT,
        "active_key_id": ring.active.public.key_id,
        "private_key_pem": ring.active.private_pem(),
        "keys": [k.to_json() for k in ring.keys],
        "announcements": list(ring.announcements),
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _parse(data: bytes) -> KeyRing:
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    private = serialization.load_pem_private_key(doc["private_key_pem"].encode(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("the private key is not Ed25519")
    keys = tuple(TrustedKey.from_json(k) for k in doc["keys"])
    kid = key_id_of(private.public_key())
    if doc.get("active_key_id") != kid:
        raise ValueError("the private key is not the active key")
    public = next((k for k in keys if k.key_id == kid), None)
    if public is None:
        raise ValueError("the active key is not listed")
    announcements = doc.get("announcements", [])
    if not isinstance(announcements, list) or not all(isinstance(a, dict) for a in announcements):
        raise ValueError("announcements is not a list of objects")
    return KeyRing(SigningKey(private, public), keys, tuple(announcements))


class SigningKeys:
    """The ring file of one data folder: made on first use, reloaded when another process
    (``sarhad keys rotate``) replaces it, changed under a file lock."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / RING_FILE
        self.legacy = data_dir / LEGACY_KEY_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._ring: KeyRing | None = None

    def __repr__(self) -> str:
        return f"SigningKeys({str(self.path)!r})"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # One writer at a time across processes: the lock file sits beside the ring file.
        self.path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        lock = self.path.with_name(".signing-keys.lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> KeyRing:
        try:
            return _parse(self.path.read_bytes())
        except (ValueError, KeyError, TypeError, AttributeError, UnsupportedAlgorithm) as exc:
            raise ConfigError(
                message(
                    "signing.damaged",
                    "the signing key file {path} is damaged ({why})",
                    path=self.path,
                    why=exc,
                ),
                hint=message(
                    "signing.damaged.hint",
                    "restore it from the backup of this node's data folder (docs/operations.md)",
                ),
            ) from None

    def _write(self, ring: KeyRing) -> None:
        write_private(self.path, _dump(ring))  # mode 600 from its first byte, atomically

    def _first(self) -> None:
        """Make the ring: from an earlier version's single key if there is one, else anew."""
        if self.path.exists():
            return
        if self.legacy.exists():
            try:
                private = serialization.load_pem_private_key(self.legacy.read_bytes(), None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                private = None
            if not isinstance(private, Ed25519PrivateKey):
                raise ConfigError(
                    message(
                        "signing.not_ed25519",
                        "{path} is not an Ed25519 private key",
                        path=self.legacy,
                    ),
                    hint=message(
                        "signing.not_ed25519.hint",
                        "restore it from backup, or move it away to make a new key (partners "
                        "then need the new public key: docs/federation.md)",
                    ),
                )
            key = SigningKey(private, TrustedKey.of(private.public_key()))
            self._write(KeyRing(active=key, keys=(key.public,)))
            self.legacy.unlink()  # the ring holds it now; one copy of a secret, not two
            log.info("signing key %s moved from %s into the ring", key.public.key_id, self.legacy)
            return
        self._write(new_ring(now=datetime.now(UTC)))

    def ring(self) -> KeyRing:
        """The current ring (made on first use)."""
        with self._lock:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                with self._locked():
                    self._first()
                st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if self._ring is None or stamp != self._stamp:
                self._ring = self._read()
                self._stamp = stamp
            return self._ring

    def _change(self, change: Callable[[KeyRing], KeyRing]) -> KeyRing:
        self.ring()  # made if missing
        with self._locked():
            ring = change(self._read())  # read again under the lock: no change is lost
            self._write(ring)
        with self._lock:
            self._stamp = None  # reload on next use
        return ring

    def rotate(
        self, *, node_id: str, overlap: timedelta = DEFAULT_OVERLAP, now: datetime | None = None
    ) -> KeyRing:
        """Rotate the ring's key (``rotate``) and write the ring file."""
        at = now or datetime.now(UTC)
        return self._change(lambda r: rotate(r, node_id=node_id, now=at, overlap=overlap))

    def revoke(
        self,
        key_id: str,
        *,
        reason: Revocation,
        node_id: str,
        at: datetime | None = None,
        now: datetime | None = None,
    ) -> KeyRing:
        """Revoke one of the ring's keys (``revoke``) and write the ring file."""
        t = now or datetime.now(UTC)
        return self._change(
            lambda r: revoke(r, key_id, reason=reason, at=at or t, node_id=node_id, now=t)
        )


_rings: dict[Path, SigningKeys] = {}
_rings_lock = threading.Lock()


def signing_keys(data_dir: Path) -> SigningKeys:
    """The ring file of ``data_dir``, one object per folder and process (it caches the ring)."""
    path = data_dir.resolve()
    with _rings_lock:
        if path not in _rings:
            _rings[path] = SigningKeys(path)
        return _rings[path]
