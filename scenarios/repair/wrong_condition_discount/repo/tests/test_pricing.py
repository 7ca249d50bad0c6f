from shop.customers import Customer
from shop.pricing import discount, shipping, total

MEMBER = Customer("ann", is_member=True)
VISITOR = Customer("bob", is_member=False)


def test_member_bulk_discount():
    assert discount(MEMBER, 200.0) == 20.0


def test_non_member_bulk_no_discount():
    assert discount(VISITOR, 150.0) == 0.0


def test_member_small_order_no_discount():
    assert discount(MEMBER, 20.0) == 0.0


def test_shipping_free_from_50():
    assert shipping(50.0) == 0.0
    assert shipping(49.99) == 4.99


def test_total_member_bulk():
    assert total(MEMBER, [(2, 60.0)]) == 108.0
