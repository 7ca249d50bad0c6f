"""Questions about a Store's stock."""

from inventory.store import Store


def quantity(store: Store, sku: str) -> int:
    return store.counts().get(sku.lower(), 0)


def in_stock(store: Store, sku: str) -> bool:
    return quantity(store, sku) > 0
