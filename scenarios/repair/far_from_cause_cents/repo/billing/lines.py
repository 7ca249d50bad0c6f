"""One line of an invoice."""

from dataclasses import dataclass

from billing.money import to_cents


@dataclass(frozen=True)
class Line:
    description: str
    unit_price: float
    quantity: int = 1

    def cents(self) -> int:
        return to_cents(self.unit_price) * self.quantity
