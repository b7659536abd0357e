"""``python -m sarhad`` runs the CLI."""

from sarhad.cli import main

main()
