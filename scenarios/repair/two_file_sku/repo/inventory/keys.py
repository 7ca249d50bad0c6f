"""The canonical form of a SKU."""


def normalize_sku(sku: str) -> str:
    """Surrounding whitespace removed, lower case."""
    return sku.strip().lower()
