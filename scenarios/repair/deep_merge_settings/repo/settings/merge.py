"""Merging two settings dicts."""


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: `override` on top of `base`, nested dicts merged key by key."""
    result = dict(base)
    for key, value in override.items():
        result[key] = value
    return result
