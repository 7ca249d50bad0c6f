"""Hidden grading tests: a SKU is the same item however it is spelled."""

from inventory.query import in_stock, quantity
from inventory.store import Store


def test_spellings_accumulate_on_one_sku():
    store = Store()
    store.add("AB-1", 2)
    store.add(" ab-1 ", 3)
    assert store.skus() == ["ab-1"]
    assert store.counts() == {"ab-1": 5}


def test_lookup_with_spaces_and_case():
    store = Store()
    store.add("Zz-9", 1)
    assert quantity(store, "  ZZ-9") == 1
    assert in_stock(store, "zz-9 ")
