"""The top of the leaderboard as text."""

from leaderboard.player import Player
from leaderboard.rank import rank


def top(players: list[Player], n: int) -> list[Player]:
    return rank(players)[:n]


def render_board(players: list[Player], n: int = 3) -> str:
    return "\n".join(f"{i}. {p.name} ({p.score})" for i, p in enumerate(top(players, n), 1))
