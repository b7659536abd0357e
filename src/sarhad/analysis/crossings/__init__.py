"""The monthly crossings report: figures (pure), report (from the database), export, CLI, API.

It sits in analysis because it reads the crossings room and incidents; see
docs/crossings-report.md.
"""
