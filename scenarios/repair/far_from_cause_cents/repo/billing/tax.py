"""Sales tax on an amount in cents."""


def tax_cents(cents: int, rate: float) -> int:
    """Tax rounded half up to a whole cent."""
    return int(cents * rate + 0.5)
