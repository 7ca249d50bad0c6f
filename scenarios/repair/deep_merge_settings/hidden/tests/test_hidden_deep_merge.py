"""Hidden grading tests: nested sections merge at every depth, inputs stay untouched."""

import copy

from settings.loader import load_settings
from settings.merge import deep_merge


def test_three_levels_deep():
    base = {"a": {"b": {"c": 1, "d": 2}, "e": 3}}
    merged = deep_merge(base, {"a": {"b": {"d": 20}}})
    assert merged == {"a": {"b": {"c": 1, "d": 20}, "e": 3}}


def test_nested_inputs_not_modified():
    base = {"db": {"host": "h", "port": 1}}
    override = {"db": {"port": 2}}
    before = copy.deepcopy((base, override))
    merged = deep_merge(base, override)
    assert merged == {"db": {"host": "h", "port": 2}}
    assert (base, override) == before


def test_loader_keeps_other_cache_and_db_keys():
    settings = load_settings('{"cache": {"size": 10}, "db": {"name": "test"}}')
    assert settings["cache"] == {"ttl": 60, "size": 10}
    assert settings["db"] == {"host": "localhost", "port": 5432, "name": "test"}
