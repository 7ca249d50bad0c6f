"""Where Ponder keeps its caches: models and the response cache (env PONDER_CACHE_DIR overrides)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "PONDER_CACHE_DIR"


def cache_dir() -> Path:
    """The root cache directory: $PONDER_CACHE_DIR, else ~/.cache/ponder."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override).expanduser() if override else Path.home() / ".cache" / "ponder"


def models_dir() -> Path:
    """Where assembled model files live."""
    return cache_dir() / "models"


def responses_path() -> Path:
    """The default response-cache SQLite file."""
    return cache_dir() / "responses.sqlite"
