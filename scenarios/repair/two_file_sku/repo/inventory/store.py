"""Where stock is recorded."""


class Store:
    def __init__(self) -> None:
        self._stock: dict[str, int] = {}

    def add(self, sku: str, quantity: int) -> None:
        key = sku.strip()
        self._stock[key] = self._stock.get(key, 0) + quantity

    def skus(self) -> list[str]:
        return sorted(self._stock)

    def counts(self) -> dict[str, int]:
        return dict(self._stock)
