"""Order pricing: subtotal, member bulk discount and shipping."""

from shop.customers import Customer

BULK_THRESHOLD = 100.0
MEMBER_BULK_DISCOUNT = 0.10
FREE_SHIPPING_FROM = 50.0
SHIPPING_FEE = 4.99


def subtotal(lines: list[tuple[int, float]]) -> float:
    """Sum of quantity * unit price over (quantity, unit price) lines."""
    return round(sum(qty * price for qty, price in lines), 2)


def discount(customer: Customer, amount: float) -> float:
    """Members ordering at least BULK_THRESHOLD get MEMBER_BULK_DISCOUNT off."""
    if customer.is_member or amount >= BULK_THRESHOLD:
        return round(amount * MEMBER_BULK_DISCOUNT, 2)
    return 0.0


def shipping(amount: float) -> float:
    return 0.0 if amount >= FREE_SHIPPING_FROM else SHIPPING_FEE


def total(customer: Customer, lines: list[tuple[int, float]]) -> float:
    amount = subtotal(lines)
    return round(amount - discount(customer, amount) + shipping(amount), 2)
