"""Human-readable rendering of a summary."""


def format_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_summary(summary: dict) -> str:
    keys = ("count", "mean", "median", "min", "max")
    return ", ".join(f"{key}={format_value(summary[key])}" for key in keys)
