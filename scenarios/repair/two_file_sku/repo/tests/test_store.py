from inventory.store import Store


def test_add_accumulates():
    store = Store()
    store.add("x-1", 2)
    store.add("x-1", 3)
    assert store.counts() == {"x-1": 5}


def test_add_normalizes_sku():
    store = Store()
    store.add(" AB-1 ", 3)
    store.add("ab-1", 2)
    assert store.skus() == ["ab-1"]
