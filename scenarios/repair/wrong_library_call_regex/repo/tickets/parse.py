"""Finding ticket ids such as PROJ-42 in free text."""

import re

TICKET = re.compile(r"\b[A-Z][A-Z0-9]+-\d+\b")


def extract_ticket(message: str) -> str | None:
    """The first ticket id anywhere in `message`, or None."""
    match = TICKET.match(message)
    return match.group(0) if match else None


def extract_all(message: str) -> list[str]:
    return TICKET.findall(message)
