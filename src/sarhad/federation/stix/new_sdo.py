"""What every Sarhad new-SDO type shares on the way in: envelope fields, extension, marking.

The alert and crossing types are each defined by their own extension-definition; an inbound
object must name exactly its own extension and carry one TLP 2.0 marking that its family may
arrive with (``core.markings.may_arrive``: never RED).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, StrictStr, ValidationError, field_validator

from sarhad.core.i18n import message
from sarhad.core.markings import TLP, Family, may_arrive
from sarhad.core.text import Inbound
from sarhad.federation.stix.core import TLP_BY_ID

UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def extension_of(extension_id: str) -> dict[str, Any]:
    """The ``extensions`` property of an object of a new-SDO type."""
    return {extension_id: {"extension_type": "new-sdo"}}


def extension_definition(
    *,
    id_: str,
    created: str,
    name: str,
    description: str,
    schema: str,
    created_by_ref: str,
    version: str = "1.0",
    modified: str | None = None,
) -> dict[str, Any]:
    """An extension-definition of new SDO types (fixed id and timestamps: one object).

    A new ``version`` of the extension is a new version of this object: same id and
    ``created``, a later fixed ``modified``.
    """
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": id_,
        "created_by_ref": created_by_ref,
        "created": created,
        "modified": modified or created,
        "name": name,
        "description": description,
        "schema": schema,
        "version": version,
        "extension_types": ["new-sdo"],
        "object_marking_refs": [TLP.CLEAR.stix_id],
    }


class NewSdo(Inbound):
    """Envelope of a new-SDO object; subclasses set ``EXTENSION_ID``, ``FAMILY`` and their fields.

    ``Inbound``: no string of a partner's object may hold a NUL or another control character.
    """

    EXTENSION_ID: ClassVar[str]
    FAMILY: ClassVar[Family]

    spec_version: Literal["2.1"]
    created_by_ref: StrictStr = Field(pattern=rf"^identity--{UUID_PATTERN}$")
    created: StrictStr
    modified: StrictStr
    object_marking_refs: list[StrictStr] = Field(min_length=1, max_length=1)
    extensions: dict[str, dict[str, Any]]

    @field_validator("extensions")
    @classmethod
    def _ours(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # The originator's signature rides in the entry; Inbound.admit checks it.
        entry = {k: x for k, x in v.get(cls.EXTENSION_ID, {}).items() if k != "signature"}
        if (
            v.keys() != {cls.EXTENSION_ID}
            or entry != extension_of(cls.EXTENSION_ID)[cls.EXTENSION_ID]
        ):
            raise ValueError(
                message(
                    "stix.new_sdo_extension",
                    "must be exactly {{{extension}: new-sdo}}",
                    extension=cls.EXTENSION_ID,
                )
            )
        return v

    @field_validator("object_marking_refs")
    @classmethod
    def _tlp(cls, v: list[str]) -> list[str]:
        level = TLP_BY_ID.get(v[0])
        if level is None:
            raise ValueError(message("stix.one_tlp", "must be one TLP 2.0 marking"))
        arrives = may_arrive(level, cls.FAMILY)
        if not arrives.ok:
            raise ValueError(arrives.text)
        return v

    @property
    def tlp(self) -> TLP:
        """The object's marking."""
        return TLP_BY_ID[self.object_marking_refs[0]]


def why(exc: ValidationError) -> str:
    """The first problem of a validation error, naming the property (and how many more)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "object"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg'].removeprefix('Value error, ')}{more}"
