"""Liaison alerts between partner nodes: deadlines, acknowledgements, answers, escalation."""
