from billing.invoice import Invoice


def test_empty_invoice():
    assert Invoice().render() == "Total: 0.00"


def test_render_total():
    invoice = Invoice()
    invoice.add("pen", 0.29, 3)
    assert invoice.render().splitlines()[-1] == "Total: 0.87"


def test_total_with_several_lines():
    invoice = Invoice(tax_rate=0.1)
    invoice.add("pen", 0.57, 2)
    invoice.add("pad", 1.15)
    assert invoice.total_cents() == 252
