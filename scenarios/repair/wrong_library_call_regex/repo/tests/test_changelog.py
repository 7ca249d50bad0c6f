from tickets.changelog import group_commits


def test_changelog_groups_by_ticket():
    groups = group_commits(["AB-1 start", "finish AB-1", "docs"])
    assert groups == {"AB-1": ["AB-1 start", "finish AB-1"], "unlinked": ["docs"]}


def test_unlinked_commits():
    assert group_commits(["docs"]) == {"unlinked": ["docs"]}
