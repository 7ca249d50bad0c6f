from shop.customers import guest


def test_guest_is_not_member():
    assert guest().is_member is False
