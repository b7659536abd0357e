"""Readable, translatable names for the rooms' codes (categories, statuses, reasons...).

Templates show ``_(labels.<group>[code])``; the strings are marked with ``N_`` so Babel
extracts them into the catalogs. A code without a label is shown as it is. A room that puts
a code into a coded message passes ``word(group, code)``: the sentence then names it in the
reader's language (the console's label), not as the English code.
"""

from __future__ import annotations

from sarhad.core.i18n import N_, Word

LABELS: dict[str, dict[str, str]] = {
    "category": {
        "armed_attack": N_("Armed attack"),
        "armed_clash": N_("Armed clash"),
        "explosion_ied": N_("Explosion / IED"),
        "cross_border_fire": N_("Cross-border fire"),
        "smuggling_narcotics": N_("Smuggling: narcotics"),
        "smuggling_fuel": N_("Smuggling: fuel"),
        "smuggling_weapons": N_("Smuggling: weapons"),
        "smuggling_goods": N_("Smuggling: goods"),
        "illegal_crossing": N_("Illegal crossing"),
        "kidnapping": N_("Kidnapping"),
        "crossing_closure_protest": N_("Closure protest"),
        "infrastructure_attack": N_("Attack on infrastructure"),
        "other": N_("Other"),
    },
    # Families of related categories (incidents.taxonomy.FAMILIES), named in a link's reasons.
    "category_family": {
        "violence": N_("Violence"),
        "smuggling": N_("Smuggling"),
        "irregular_crossing": N_("Irregular crossing"),
        "protest": N_("Protest"),
    },
    "incident_status": {
        "draft": N_("Draft"),
        "submitted": N_("Submitted"),
        "validated": N_("Validated"),
        "closed": N_("Closed"),
    },
    "alert_status": {
        "queued": N_("Queued"),
        "delivered": N_("Delivered"),
        "received": N_("Received"),
        "acknowledged": N_("Acknowledged"),
        "answered": N_("Answered"),
        "withdrawn": N_("Withdrawn"),
    },
    "priority": {
        "flash": N_("Flash"),
        "immediate": N_("Immediate"),
        "priority": N_("Priority"),
        "routine": N_("Routine"),
    },
    "alert_kind": {
        "armed_group_movement": N_("Armed group movement"),
        "smuggling_movement": N_("Smuggling movement"),
        "hot_pursuit_request": N_("Hot pursuit request"),
        "request_for_information": N_("Request for information"),
        "crossing_closure": N_("Crossing closure"),
        "deconfliction_notice": N_("Deconfliction notice"),
        "other": N_("Other"),
    },
    # How a partner answers an alert (alerts.taxonomy.Answer).
    "answer": {
        "accepted": N_("Accepted"),
        "declined": N_("Declined"),
        "information_provided": N_("Information provided"),
    },
    "crossing_status": {
        "open": N_("Open"),
        "restricted": N_("Restricted"),
        "closed": N_("Closed"),
    },
    "reason": {
        "security_incident": N_("Security incident"),
        "protest": N_("Protest"),
        "policy_decision": N_("Policy decision"),
        "holiday": N_("Holiday"),
        "weather": N_("Weather"),
        "maintenance": N_("Maintenance"),
        "outside_hours": N_("Outside hours"),
        "other": N_("Other"),
    },
    "place_kind": {
        "crossing": N_("Crossing"),
        "market": N_("Market"),
    },
    "side": {
        "PK": N_("Pakistan"),
        "IR": N_("Iran"),
    },
    "impact": {
        "low": N_("Low"),
        "medium": N_("Medium"),
        "high": N_("High"),
        "critical": N_("Critical"),
    },
    # Fields a sharing agreement may withhold (sharing.policy.WITHHOLDABLE).
    "field": {
        "sources": N_("Sources"),
        "narrative": N_("Narrative"),
        "grading": N_("Grading"),
        "place": N_("Place"),
        "seizures": N_("Seizures"),
    },
    # Units of seizures that are words (kg, l, m3... are symbols, shown as they are).
    "unit": {
        "head": N_("head (animals)"),
        "items": N_("items"),
        "rounds": N_("rounds (ammunition)"),
    },
    # Patrol shifts (patrols.config).
    "shift": {
        "day": N_("Day"),
        "evening": N_("Evening"),
        "night": N_("Night"),
    },
    # Links of both sides' records of one event (incidents.links), named as the links page does.
    "link_status": {
        "suggested": N_("Suggested"),
        "confirmed": N_("Confirmed"),
        "rejected": N_("Rejected"),
    },
    # News candidates (intake), as the news page names them.
    "news_status": {
        "pending": N_("Waiting for review"),
        "accepted": N_("Accepted"),
        "rejected": N_("Rejected"),
    },
    # Roles of staff accounts (core.auth.Role), named in a refusal.
    "role": {
        "duty_officer": N_("Duty officer"),
        "liaison": N_("Liaison officer"),
        "analyst": N_("Analyst"),
        "commander": N_("Commander"),
        "admin": N_("Administrator"),
        "partner": N_("Partner node"),
    },
    # Months of the Gregorian calendar, by their English name (calendar.month_name).
    "month": {
        "January": N_("January"),
        "February": N_("February"),
        "March": N_("March"),
        "April": N_("April"),
        "May": N_("May"),
        "June": N_("June"),
        "July": N_("July"),
        "August": N_("August"),
        "September": N_("September"),
        "October": N_("October"),
        "November": N_("November"),
        "December": N_("December"),
    },
    # Signing keys (sharing page): core.signing.TrustedKey.state, Revocation, how trusted.
    "key_state": {
        "valid": N_("Valid"),
        "retired": N_("Retired"),
        "not yet valid": N_("Not yet valid"),
        "revoked": N_("Revoked"),
    },
    "revocation": {
        "superseded": N_("superseded"),
        "compromised": N_("compromised"),
    },
    "key_source": {
        "registered": N_("Registered by hand"),
        "announcement": N_("Announced, signed by a trusted key"),
        "upgrade": N_("Carried over from an earlier version"),
    },
}


def word(group: str, code: object) -> Word:
    """``code`` (a side, a status, a shift...) as a message param: the code in English (as
    the sentence always said it), its label from ``LABELS[group]`` in the reader's language."""
    text = str(getattr(code, "value", code))
    return Word(text, LABELS.get(group, {}).get(text))
