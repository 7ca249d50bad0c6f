"""Where benchmark data lives: $PONDER_DATA_DIR, else `<repo root>/../shared/data`."""

from __future__ import annotations

import os
from pathlib import Path

from ponder.errors import ConfigError

DATA_ENV = "PONDER_DATA_DIR"


def data_dir() -> Path:
    """The benchmark data directory (it may not exist; `data_file` says so when it matters)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "data"


def data_file(relative: str, *, hf_name: str | None = None) -> Path:
    """A data file under the data directory, or a ConfigError naming where it was looked for."""
    path = data_dir() / relative
    if path.is_file():
        return path
    online = f", or pass the Hugging Face dataset name {hf_name!r} as --source" if hf_name else ""
    raise ConfigError(
        f"benchmark data file {path} not found",
        fix=f"set {DATA_ENV} to a directory holding {relative}{online} (see scenarios/README.md)",
    )


def optional_data_file(relative: str) -> Path | None:
    """A data file if present (e.g. the EvalPlus extras), else None."""
    path = data_dir() / relative
    return path if path.is_file() else None
