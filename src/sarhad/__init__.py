"""Sarhad: a federated border incident, sharing and patrol-planning node."""

__version__ = "0.1.0"
