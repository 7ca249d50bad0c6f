"""`ponder export` commands."""

from ponder.cli.app import app  # noqa: F401
