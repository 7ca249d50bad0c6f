"""Defaults plus user settings given as JSON text."""

import json

from settings.merge import deep_merge

DEFAULTS = {
    "debug": False,
    "db": {"host": "localhost", "port": 5432, "name": "app"},
    "cache": {"ttl": 60},
}


def load_settings(user_json: str = "{}") -> dict:
    return deep_merge(DEFAULTS, json.loads(user_json))
