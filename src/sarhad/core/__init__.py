"""Core: what every room needs (settings, database, change log, audit, markings, auth, errors).

Imports no room.
"""
