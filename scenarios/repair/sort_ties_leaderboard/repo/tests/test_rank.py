from leaderboard.player import Player
from leaderboard.rank import rank


def test_highest_first():
    assert [p.name for p in rank([Player("a", 1), Player("b", 3)])] == ["b", "a"]


def test_ties_alphabetical():
    players = [Player("bea", 5), Player("al", 5), Player("cy", 9)]
    assert [p.name for p in rank(players)] == ["cy", "al", "bea"]


def test_empty():
    assert rank([]) == []
