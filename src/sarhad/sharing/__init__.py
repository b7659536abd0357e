"""Sharing: partner nodes, the agreement with each, and the pure policy that decides what goes."""
