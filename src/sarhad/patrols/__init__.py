"""Patrol planning: sector risk → optimal coverage (security game) → sampled daily schedules."""
