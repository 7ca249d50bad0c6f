"""Ordering players: highest score first, ties alphabetically by name."""

from leaderboard.player import Player


def rank(players: list[Player]) -> list[Player]:
    return sorted(players, key=lambda p: (p.score, p.name), reverse=True)
