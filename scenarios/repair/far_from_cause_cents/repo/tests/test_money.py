from billing.money import format_cents, to_cents


def test_format_cents():
    assert format_cents(1205) == "12.05"


def test_to_cents_round_value():
    assert to_cents(2.5) == 250
