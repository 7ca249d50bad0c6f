"""Reading scenario data: local JSON Lines, or a Hugging Face dataset for online users."""

from __future__ import annotations

import json
from pathlib import Path

from ponder.errors import ConfigError


def read_jsonl(path: Path) -> list[dict]:
    """Every JSON object of a .jsonl file, in order."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_hf(name: str, split: str, config: str | None = None) -> list[dict]:
    """Rows of a Hugging Face dataset split (needs `pip install datasets` and network)."""
    try:
        import datasets  # noqa: PLC0415 - optional dependency, online users only
    except ImportError:
        raise ConfigError(
            f"loading the Hugging Face dataset {name!r} needs the `datasets` package",
            fix="pip install datasets, or drop --source to use the local copy in PONDER_DATA_DIR",
        ) from None
    dataset = datasets.load_dataset(name, config, split=split)
    return [dict(row) for row in dataset]
