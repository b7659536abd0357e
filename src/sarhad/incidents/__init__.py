"""Incidents: the typed, versioned, border-located record of what happened."""
