"""Group commit messages by the ticket they mention."""

from tickets.parse import extract_ticket


def group_commits(messages: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for message in messages:
        key = extract_ticket(message) or "unlinked"
        groups.setdefault(key, []).append(message)
    return groups
