"""`ponder bench` commands."""

from ponder.cli.app import app  # noqa: F401
