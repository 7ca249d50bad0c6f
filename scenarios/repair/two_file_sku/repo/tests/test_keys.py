from inventory.keys import normalize_sku


def test_normalize_sku():
    assert normalize_sku("  Ab-3 ") == "ab-3"
