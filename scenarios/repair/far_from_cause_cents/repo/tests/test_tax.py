from billing.tax import tax_cents


def test_tax_rounds_half_up():
    assert tax_cents(25, 0.1) == 3
