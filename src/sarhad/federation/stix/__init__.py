"""STIX 2.1 plumbing shared by every shareable object type (the types are in ``types/``).

``core``: timestamps, ids, the node identity, TLP 2.0 markings, the OASIS validator.
``envelope``: the inbound checks every standard STIX object passes, TLP 1.0 read as 2.0.
``checks``: fast, strict property checks of the standard types partners send most.
``new_sdo``: the envelope of Sarhad's own object types (alerts, crossing records).
"""
