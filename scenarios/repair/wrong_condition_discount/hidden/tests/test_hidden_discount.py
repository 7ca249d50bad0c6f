"""Hidden grading tests: the discount needs membership AND a bulk order."""

from shop.customers import Customer, guest
from shop.pricing import discount, total


def test_guest_large_order_pays_full_price():
    assert discount(guest(), 250.0) == 0.0
    assert total(guest(), [(5, 50.0)]) == 250.0


def test_member_just_below_threshold_gets_nothing():
    assert discount(Customer("ann", is_member=True), 99.99) == 0.0


def test_only_members_get_the_bulk_discount():
    assert discount(Customer("ann", is_member=True), 100.0) == 10.0
    assert discount(Customer("bo", is_member=False), 150.0) == 0.0
