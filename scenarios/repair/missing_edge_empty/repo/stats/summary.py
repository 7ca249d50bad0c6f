"""Summary statistics of a list of numbers."""


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values)


def median(values: list[float]) -> float | None:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def summarize(values: list[float]) -> dict:
    return {
        "count": len(values),
        "mean": mean(values),
        "median": median(values),
        "min": min(values),
        "max": max(values),
    }
