"""An invoice: lines, a tax rate, and its text rendering."""

from billing.lines import Line
from billing.money import format_cents
from billing.tax import tax_cents


class Invoice:
    def __init__(self, tax_rate: float = 0.0) -> None:
        self.tax_rate = tax_rate
        self.lines: list[Line] = []

    def add(self, description: str, unit_price: float, quantity: int = 1) -> None:
        self.lines.append(Line(description, unit_price, quantity))

    def net_cents(self) -> int:
        return sum(line.cents() for line in self.lines)

    def total_cents(self) -> int:
        net = self.net_cents()
        return net + tax_cents(net, self.tax_rate)

    def render(self) -> str:
        rows = [f"{line.description} x{line.quantity}" for line in self.lines]
        return "\n".join(rows + [f"Total: {format_cents(self.total_cents())}"])
