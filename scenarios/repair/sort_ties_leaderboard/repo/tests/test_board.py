from leaderboard.board import render_board, top
from leaderboard.player import Player


def test_top_two_with_tie():
    players = [Player("zed", 4), Player("amy", 4), Player("kim", 1)]
    assert [p.name for p in top(players, 2)] == ["amy", "zed"]


def test_render_board():
    assert render_board([Player("a", 2), Player("b", 1)]) == "1. a (2)\n2. b (1)"
