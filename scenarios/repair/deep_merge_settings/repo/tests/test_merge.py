import copy

from settings.merge import deep_merge


def test_flat_override():
    assert deep_merge({"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 3}


def test_nested_sections_merge():
    merged = deep_merge({"db": {"host": "h", "port": 1}}, {"db": {"port": 2}})
    assert merged == {"db": {"host": "h", "port": 2}}


def test_dict_replaces_scalar():
    assert deep_merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}


def test_inputs_not_modified():
    base = {"db": {"host": "h"}}
    override = {"db": {"port": 2}}
    saved = copy.deepcopy((base, override))
    deep_merge(base, override)
    assert (base, override) == saved
