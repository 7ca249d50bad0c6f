from inventory.query import in_stock, quantity
from inventory.store import Store


def test_quantity_any_spelling():
    store = Store()
    store.add(" AB-1 ", 3)
    store.add("ab-1", 2)
    assert quantity(store, "AB-1") == 5
    assert quantity(store, " ab-1") == 5


def test_quantity_missing_is_zero():
    assert quantity(Store(), "nope") == 0


def test_in_stock():
    store = Store()
    store.add("z-9", 1)
    assert in_stock(store, "z-9")
