"""Hidden grading tests: highest score first, ties in alphabetical order."""

from leaderboard.board import render_board
from leaderboard.player import Player
from leaderboard.rank import rank


def test_three_way_tie_is_alphabetical():
    players = [Player("cy", 5), Player("al", 5), Player("bo", 5), Player("zed", 9)]
    assert [p.name for p in rank(players)] == ["zed", "al", "bo", "cy"]


def test_board_with_tie_below_the_leader():
    players = [Player("mia", 3), Player("lee", 7), Player("kai", 3)]
    assert render_board(players, 3) == "1. lee (7)\n2. kai (3)\n3. mia (3)"
