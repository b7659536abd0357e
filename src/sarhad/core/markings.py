"""Traffic Light Protocol 2.0 markings, ordered from least to most restrictive."""

from __future__ import annotations

from enum import StrEnum


class TLP(StrEnum):
    """TLP 2.0 levels (FIRST, 2022). RED never leaves the node that holds it."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED: higher is more restrictive."""
        return list(TLP).index(self)

    @property
    def label(self) -> str:
        """The label as printed on documents, e.g. ``TLP:AMBER+STRICT``."""
        return f"TLP:{self.value.upper()}"

    @property
    def stix_id(self) -> str:
        """The published STIX marking-definition id of this level."""
        return STIX_TLP2_IDS[self]


# Published ids (oasis-open/cti-stix-common-objects, tlp-2.0); stix2 ships only TLP 1.0.
STIX_TLP2_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
