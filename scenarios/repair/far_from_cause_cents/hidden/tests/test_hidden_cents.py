"""Hidden grading tests: amounts that are not exact in binary still convert to the right cents."""

from billing.invoice import Invoice
from billing.money import to_cents


def test_to_cents_of_inexact_amounts():
    assert [to_cents(x) for x in (0.29, 1.15, 4.35, 19.99)] == [29, 115, 435, 1999]


def test_invoice_of_inexact_prices():
    invoice = Invoice()
    invoice.add("pen", 0.29, 3)
    invoice.add("pad", 1.15)
    assert invoice.total_cents() == 202
    assert invoice.render().endswith("Total: 2.02")
