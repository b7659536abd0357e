"""Who we are, as partners see us: this node, and the project that authors our extensions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sarhad.federation.stix.core import StixObject


@dataclass(frozen=True)
class LocalNode:
    """Who we are, as partners see us."""

    node_id: str
    name: str
    country: str
    #: Our side's local time as staff read it, e.g. "PKT (UTC+05:00)" (crossing hours).
    time_zone: str | None = None
    #: The data folder holding our signing key ring (``core.signing``); None: what we
    #: publish goes unsigned (a bare node made by a test or a benchmark).
    data_dir: Path | None = None

    @property
    def identity_id(self) -> str:
        """Our ``identity`` object's id: the ``created_by_ref`` of what we make."""
        return f"identity--{self.node_id}"


#: The project's own identity: the author of the extension-definitions, the same on every
#: node (an extension-definition has a fixed id and version, so it must be one object).
PROJECT_IDENTITY: StixObject = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--0b6c1a52-5f0e-4f59-9a8e-3f6f2a1c7d10",
    "created": "2026-11-23T00:00:00.000Z",
    "modified": "2026-11-23T00:00:00.000Z",
    "name": "Sarhad project",
    "identity_class": "organization",
    "description": "Maintainers of the Sarhad border-incident STIX extension",
}
EXTENSION_AUTHOR: str = PROJECT_IDENTITY["id"]
"""``created_by_ref`` of every extension-definition we send."""
