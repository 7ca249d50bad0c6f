"""Money is kept as integer cents internally."""


def to_cents(amount: float) -> int:
    """An amount in currency units as integer cents."""
    return int(amount * 100)


def format_cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
