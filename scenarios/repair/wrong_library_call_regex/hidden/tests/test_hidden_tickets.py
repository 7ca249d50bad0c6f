"""Hidden grading tests: a ticket id is found anywhere in the message."""

from tickets.changelog import group_commits
from tickets.parse import extract_ticket


def test_ticket_at_the_end():
    assert extract_ticket("fix the login page, see WEB-1234") == "WEB-1234"


def test_first_of_several_tickets():
    assert extract_ticket("merge: QA-7 and QA-8") == "QA-7"


def test_lowercase_is_not_a_ticket():
    assert extract_ticket("see ab-1 later") is None
    assert group_commits(["wip on XY-9 (draft)"]) == {"XY-9": ["wip on XY-9 (draft)"]}
