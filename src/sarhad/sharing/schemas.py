"""API schemas of partners and agreements. Outbound partner data never carries the token."""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from sarhad.alerts.schemas import DeadlineTerms
from sarhad.alerts.taxonomy import Priority
from sarhad.core.i18n import message
from sarhad.core.markings import LIMITS, TLP, may_be_limit
from sarhad.core.params import SECTORS, VOCABULARY, stripped
from sarhad.core.signing import Revocation
from sarhad.core.text import Inbound, Line
from sarhad.incidents.taxonomy import Category, Status
from sarhad.sharing.policy import WITHHOLDABLE

NAME_PATTERN = r"^[a-z0-9-]{2,60}$"
#: DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): 12 bytes, then the 32-byte key.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
#: A year: longer delays are almost certainly a typing error (hours for days).
MAX_DELAY_HOURS = 8760.0


class _In(Inbound):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def check_url(value: str) -> str:
    """A partner's TAXII API root must be an http(s) URL with a host."""
    scheme, sep, rest = value.partition("://")
    if scheme.lower() not in ("http", "https") or not sep or not rest.split("/")[0]:
        raise ValueError(
            message(
                "sharing.url_scheme",
                "must be an http:// or https:// URL, e.g. https://ir-node.example/taxii2/",
            )
        )
    if any(c.isspace() for c in value):
        raise ValueError(message("sharing.url_spaces", "must not contain spaces"))
    return value


def check_public_key(value: str) -> str:
    """An Ed25519 public key in PEM (``-----BEGIN PUBLIC KEY-----``), as partners publish it."""
    lines = [line.strip() for line in value.strip().splitlines() if line.strip()]
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----":
        raise ValueError(
            message(
                "sharing.pem_begin",
                "must be a PEM public key starting with -----BEGIN PUBLIC KEY-----",
            )
        )
    if lines[-1] != "-----END PUBLIC KEY-----":
        raise ValueError(message("sharing.pem_end", "must end with -----END PUBLIC KEY-----"))
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise ValueError(message("sharing.pem_base64", "the PEM body is not base64")) from None
    if len(der) != 44 or not der.startswith(_ED25519_SPKI_PREFIX):
        raise ValueError(
            message(
                "sharing.pem_ed25519",
                "must be an Ed25519 public key ({size}-byte SubjectPublicKeyInfo)",
                size=44,
            )
        )
    # Stored in one spelling: base64 with spare bits set decodes here but not in OpenSSL.
    body = base64.b64encode(der).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def check_node_id(value: str) -> str:
    """A node id is the UUID the partner's node made at ``sarhad init``."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(
            message(
                "sharing.node_id",
                "must be the partner node's UUID (see 'sarhad init' on that node)",
            )
        ) from None


#: What ``check_url`` and ``check_public_key`` accept, for the OpenAPI document (a little
#: narrower: printable ASCII only, one line of key; the server is no stricter than this).
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[!-.0-~]+[!-~]*$"
PEM_PATTERN = (
    r"^-----BEGIN PUBLIC KEY-----[ \t\r]*\n[ \t]*MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=[ \t\r]*\n"
    r"[ \t]*-----END PUBLIC KEY-----[ \t\r\n]*$"
)
Url = Annotated[
    str,
    Field(max_length=500, json_schema_extra={"pattern": URL_PATTERN}),
    AfterValidator(check_url),
]
PublicKeyPem = Annotated[
    str,
    Field(max_length=2000, json_schema_extra={"pattern": PEM_PATTERN}),
    AfterValidator(check_public_key),
]
NodeId = Annotated[str, Field(json_schema_extra={"format": "uuid"}), AfterValidator(check_node_id)]
Token = Annotated[Line, Field(min_length=1, max_length=200, json_schema_extra=stripped())]


class PartnerIn(_In):
    """A new partner node."""

    name: str = Field(pattern=NAME_PATTERN, description="short name, e.g. ir-node")
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2 of the agency")
    taxii_url: Url | None = Field(default=None, description="their TAXII API root")
    remote_token: Token | None = Field(default=None, description="the token we present to them")
    public_key_pem: PublicKeyPem | None = Field(
        default=None, description="their Ed25519 signing key (PEM): the first of their keys"
    )
    node_id: NodeId | None = Field(default=None, description="their node UUID")


class PartnerUpdate(_In):
    """Changes to a partner; fields left out stay as they are, ``null`` clears a field."""

    taxii_url: Url | None = None
    remote_token: Token | None = None
    public_key_pem: PublicKeyPem | None = Field(
        default=None,
        description="adds this Ed25519 key to the partner's keys (earlier keys stay: revoke "
        "one with POST /partners/{name}/keys/{key_id}/revoke)",
        json_schema_extra={"type": "string"},  # never null: keys are revoked, not cleared
    )
    node_id: NodeId | None = None
    active: bool | None = Field(default=None, json_schema_extra={"type": "boolean"})

    @field_validator("active")
    @classmethod
    def _active_not_null(cls, v: bool | None) -> bool | None:
        if v is None:
            raise ValueError(message("sharing.give_bool", "give true or false"))
        return v

    @field_validator("public_key_pem")
    @classmethod
    def _key_not_null(cls, v: str | None) -> str | None:
        if v is None:
            raise ValueError(
                message(
                    "sharing.keys_not_cleared",
                    "keys are not cleared: revoke one instead (sarhad keys revoke KEY_ID, or "
                    "POST /partners/{{name}}/keys/{{key_id}}/revoke)",
                )
            )
        return v


class KnownKeyOut(BaseModel):
    """A signing key of another node, with the fingerprint to confirm it by phone."""

    key_id: str
    fingerprint: str = Field(description="8 groups of 5 digits, read aloud to confirm the key")
    public_key_pem: str
    node_id: str | None
    partner: str | None  # the partner it was registered for; None for a third node
    label: str | None
    state: str = Field(description="valid, retired, not yet valid or revoked")
    valid_from: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None
    revocation: Revocation | None
    revoked_by: str | None
    source: str = Field(description="registered, announcement or upgrade")
    added_by: str
    added_at: datetime


class PartnerOut(BaseModel):
    """A partner as the API shows it: whether a token is set, never the token itself."""

    id: str
    name: str
    country: str
    node_id: str | None
    taxii_url: str | None
    remote_token_set: bool
    public_keys: list[KnownKeyOut]  # their signing keys, oldest first
    account: str  # the local account whose tokens the partner presents to us
    active: bool
    created_at: datetime


def _dedupe(values: list[Any]) -> list[Any]:
    return sorted(set(values), key=str)


class AgreementIn(_In):
    """Changes to an agreement; every field is optional and fields left out stay as they are.

    Empty ``categories`` or ``sectors`` mean "all". ``expires_at: null`` removes the expiry.
    """

    categories: list[Category] | None = Field(default=None, max_length=100)
    sectors: list[Line] | None = Field(
        default=None,
        max_length=1000,
        json_schema_extra={"items": {"type": "string", VOCABULARY: SECTORS}},
    )
    statuses: list[Status] | None = Field(
        default=None, max_length=10, json_schema_extra={"minItems": 1}
    )
    max_tlp: TLP | None = Field(
        default=None,
        description="Never red: red never leaves the node",
        json_schema_extra={"enum": [*(t.value for t in LIMITS), None]},
    )
    withheld_fields: list[Line] | None = Field(
        default=None,
        max_length=20,
        json_schema_extra={"items": {"type": "string", "enum": list(WITHHOLDABLE)}},
    )
    release_delay_hours: float | None = Field(default=None, ge=0, le=MAX_DELAY_HOURS)
    expires_at: AwareDatetime | None = None
    forward_third_party: bool | None = None
    share_crossings: bool | None = None
    share_throughput: bool | None = None
    alert_deadlines: dict[Priority, DeadlineTerms] | None = Field(
        default=None,
        description="Alert response deadlines by priority; priorities left out stay as they are",
    )

    @field_validator("categories", "statuses")
    @classmethod
    def _unique(cls, v: list[Any] | None) -> list[Any] | None:
        return None if v is None else _dedupe(v)

    @field_validator("sectors")
    @classmethod
    def _sectors(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        if any(not s or len(s) > 40 for s in v):
            raise ValueError(
                message(
                    "sharing.sector_ids",
                    "sector ids are {least}-{most} characters, e.g. PKIR-007",
                    least=1,
                    most=40,
                )
            )
        return _dedupe(v)

    @field_validator("statuses")
    @classmethod
    def _some_status(cls, v: list[Status] | None) -> list[Status] | None:
        if v is not None and not v:
            raise ValueError(
                message(
                    "sharing.some_status",
                    "give at least one status (validated and closed are usual)",
                )
            )
        return v

    @field_validator("max_tlp")
    @classmethod
    def _not_red(cls, v: TLP | None) -> TLP | None:
        if v is not None and not (limit := may_be_limit(v)).ok:
            raise ValueError(limit.text)
        return v

    @field_validator("withheld_fields")
    @classmethod
    def _withholdable(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        for name in v:
            if name == "casualties":
                raise ValueError(
                    message(
                        "sharing.casualties_shown",
                        "casualties are never withheld: civilian harm is always reported",
                    )
                )
            if name not in WITHHOLDABLE:
                raise ValueError(
                    message(
                        "sharing.not_withholdable",
                        "{name} cannot be withheld; choose from {names}",
                        name=repr(name),
                        names=", ".join(WITHHOLDABLE),
                    )
                )
        return sorted(set(v))

    @field_validator("release_delay_hours")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(message("sharing.finite_hours", "must be a finite number of hours"))
        return v


class AgreementOut(BaseModel):
    """The current agreement with one partner."""

    partner: str
    version: int
    categories: list[str]
    sectors: list[str]
    statuses: list[str]
    max_tlp: TLP
    withheld_fields: list[str]
    release_delay_hours: float
    expires_at: datetime | None
    forward_third_party: bool
    share_crossings: bool
    share_throughput: bool
    alert_deadlines: dict[str, DeadlineTerms]
    created_at: datetime
    updated_at: datetime


class PartnerCreated(BaseModel):
    """What adding a partner returns: the token they must use to call us is shown this once."""

    partner: PartnerOut
    token: str
    agreement: AgreementOut


class PreviewItem(BaseModel):
    """What one incident would look like to the partner, or why it would not go."""

    id: str
    title: str
    occurred_at: datetime
    category: str
    sector: str | None  # None: a record far from the line has no sector
    status: str
    tlp: TLP
    share: bool
    reasons: list[str]
    #: The same reasons as codes and parameters, to word them in the reader's language.
    reason_codes: list[dict[str, Any]] = Field(default_factory=list)
    withheld_fields: list[str]
    release_at: datetime | None
    record: dict[str, Any] | None  # the redacted record; None when it would not go at all


class PreviewOut(BaseModel):
    """The newest incidents as one partner would receive them under the current agreement."""

    partner: str
    agreement_version: int
    at: datetime
    shared: int
    held: int  # only the release delay holds them back
    refused: int
    items: list[PreviewItem]


class KeyIn(_In):
    """A partner's signing key, registered after its fingerprint was confirmed by phone."""

    public_key_pem: PublicKeyPem = Field(description="Ed25519, PEM")
    fingerprint: str | None = Field(
        default=None,
        max_length=60,
        pattern=r"^[0-9 ]*$",
        description="the fingerprint their officer read out (8 groups of 5 digits); when "
        "given, the key is refused unless it matches",
    )
    valid_from: AwareDatetime | None = Field(default=None, description="signatures before fail")
    valid_until: AwareDatetime | None = Field(default=None, description="signatures after fail")


class TrustIn(KeyIn):
    """A third node's signing key: records partners forward from it are checked with it."""

    node_id: NodeId = Field(description="the node's UUID, as its records name it")
    label: Line | None = Field(
        default=None, max_length=120, description="who it is, e.g. af-node, Kabul"
    )


class KeyRevoke(_In):
    """Stop trusting a key from ``at`` (default now) for ``reason``.

    ``superseded``: what it signed before ``at`` stays valid. ``compromised``: nothing it
    ever signed is trusted any more.
    """

    reason: Revocation
    at: AwareDatetime | None = None


class OwnKeyOut(BaseModel):
    """One of this node's signing keys (the public half)."""

    key_id: str
    fingerprint: str
    public_key_pem: str
    active: bool  # the key that signs now
    state: str
    valid_from: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None
    revocation: Revocation | None


class OwnKeysOut(BaseModel):
    """This node's signing keys: give partners the active key's PEM and fingerprint."""

    node_id: str
    active_key_id: str
    keys: list[OwnKeyOut]  # oldest first
