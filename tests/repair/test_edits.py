"""Search/replace blocks, unified diffs, rejection reasons, and patches as node state."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ponder.agents.base import Draft
from ponder.kinds.origin import Origin
from ponder.kinds.repair import RepairKind
from ponder.repair.edits import (
    DiffEdit,
    EditRejected,
    SearchReplace,
    apply_edits,
    apply_patch,
    make_patch,
    parse_edits,
    parse_search_replace,
)
from ponder.repair.workspace import PatchedView, RepoSnapshot, write_changes
from ponder.task import Repository, VisibleTask
from ponder.tree import Node, ThoughtTree

CORE = "def f(x):\n    y = x + 1\n    return y\n\n\ndef g(x):\n    y = x + 1\n    return y * 2\n"


def repair_view(snapshot: RepoSnapshot) -> VisibleTask:
    """A repair task's visible part over `snapshot` (what `parse_candidate` reads)."""
    repository = Repository(dir=str(snapshot.root), test_cmd="true")
    return VisibleTask(id="t", kind="repair", prompt="p", repository=repository)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "core.py").write_text(CORE)
    (root / "pkg" / "util.py").write_text("A = 1\nB = 2")  # no final newline
    return RepoSnapshot(root)


def test_parse_search_replace_block_with_path_and_fences():
    reply = (
        "The bug is here.\n\npkg/core.py\n```python\n<<<<<<< SEARCH\n    return y\n=======\n"
        "    return y + 0\n>>>>>>> REPLACE\n```\n"
    )
    edits = parse_search_replace(reply)
    assert edits == [SearchReplace("pkg/core.py", "    return y\n", "    return y + 0\n")]


def test_two_blocks_two_files(repo):
    reply = (
        "pkg/core.py\n<<<<<<< SEARCH\ndef f(x):\n    y = x + 1\n=======\ndef f(x):\n    y = x + 2\n"
        ">>>>>>> REPLACE\n\npkg/util.py\n<<<<<<< SEARCH\nA = 1\n=======\nA = 10\n>>>>>>> REPLACE\n"
    )
    changes = apply_edits(repo, parse_edits(reply))
    assert changes["pkg/core.py"].startswith("def f(x):\n    y = x + 2\n")
    assert changes["pkg/core.py"].count("x + 1") == 1
    assert changes["pkg/util.py"] == "A = 10\nB = 2"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            "pkg/nope.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n",
            "file not found: pkg/nope.py",
        ),
        (
            "pkg/core.py\n<<<<<<< SEARCH\n    return z\n=======\n    return y\n>>>>>>> REPLACE\n",
            "search text not found in pkg/core.py",
        ),
        (
            "pkg/core.py\n<<<<<<< SEARCH\n    y = x + 1\n=======\n    y = x\n>>>>>>> REPLACE\n",
            "matches 2 places in pkg/core.py",
        ),
        (
            "<<<<<<< SEARCH\n    return q\n=======\n    y = x\n>>>>>>> REPLACE\n",
            "has no file path and no file holds the SEARCH text",
        ),
        ("pkg/core.py\n<<<<<<< SEARCH\n    return y\n>>>>>>> REPLACE\n", "missing its '======='"),
        ("I think the bug is in f.", "no edit found"),
        (
            "pkg/core.py\n<<<<<<< SEARCH\n\n=======\nx = 1\n>>>>>>> REPLACE\n",
            "SEARCH part for pkg/core.py is empty",
        ),
    ],
)
def test_rejections_name_the_reason(repo, reply, reason):
    with pytest.raises(EditRejected) as info:
        apply_edits(repo, parse_edits(reply))
    assert reason in info.value.reason


def test_tolerates_copied_line_numbers_and_indentation(repo):
    numbered = "pkg/core.py\n<<<<<<< SEARCH\n 3 |     return y\n=======\n 3 |     return -y\n>>>>>>> REPLACE\n"
    assert "return -y" in apply_edits(repo, parse_edits(numbered))["pkg/core.py"]
    dedented = "pkg/core.py\n<<<<<<< SEARCH\nreturn y * 2\n=======\nreturn y * 3\n>>>>>>> REPLACE\n"
    assert "    return y * 3\n" in apply_edits(repo, parse_edits(dedented))["pkg/core.py"]


def test_suffix_path_resolves_and_new_file_is_created(repo):
    reply = (
        "core.py\n<<<<<<< SEARCH\n    return y * 2\n=======\n    return y * 4\n>>>>>>> REPLACE\n"
    )
    assert "y * 4" in apply_edits(repo, parse_edits(reply))["pkg/core.py"]
    new = "pkg/extra.py\n<<<<<<< SEARCH\n=======\nZ = 3\n>>>>>>> REPLACE\n"
    assert apply_edits(repo, parse_edits(new)) == {"pkg/extra.py": "Z = 3\n"}


def test_path_outside_repo_is_rejected(repo):
    with pytest.raises(EditRejected, match="leaves the repository"):
        apply_edits(repo, [SearchReplace("../x.py", "a", "b")])


def test_patch_round_trip_is_the_node_state(repo):
    changes = {
        "pkg/core.py": CORE.replace("x + 1\n    return y\n", "x + 5\n    return y\n"),
        "pkg/util.py": "A = 1\nB = 3",
        "pkg/new.py": "N = 1\n",
    }
    patch = make_patch(repo, changes)
    assert patch.startswith(
        "diff --git a/pkg/core.py b/pkg/core.py\n--- a/pkg/core.py\n+++ b/pkg/core.py\n"
    )
    assert "\\ No newline at end of file" in patch
    assert apply_patch(repo, patch) == changes
    assert make_patch(repo, apply_patch(repo, patch)) == patch
    assert make_patch(repo, {}) == "" and apply_patch(repo, "") == {}


def test_patch_round_trip_keeps_form_feeds_and_unicode_line_separators(repo):
    # Only a newline ends a line in a diff: a form feed (common in old Python sources) or
    # U+2028 inside a line must come back unchanged.
    text = "x = 1\n\x0c\ny = 'a\u2028b'\n# section\x0c end\n"
    (repo.root / "pkg" / "ff.py").write_text(text)
    changes = {"pkg/ff.py": text.replace("y = ", "z = ")}
    patch = make_patch(repo, changes)
    assert apply_patch(repo, patch) == changes


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch not installed")
def test_patch_applies_with_gnu_patch(repo, tmp_path):
    changes = {"pkg/core.py": CORE.replace("y * 2", "y * 7"), "pkg/util.py": "A = 1\nB = 3"}
    patch = make_patch(repo, changes)
    copy = tmp_path / "copy"
    shutil.copytree(repo.root, copy)
    subprocess.run(
        ["patch", "-p1", "--batch"],
        cwd=copy,
        input=patch,
        text=True,
        check=True,
        capture_output=True,
    )
    assert (copy / "pkg/core.py").read_text() == changes["pkg/core.py"]
    assert (copy / "pkg/util.py").read_text() == "A = 1\nB = 3"


def test_unified_diff_edit_from_a_model_with_wrong_line_numbers(repo):
    reply = (
        "```diff\n--- a/pkg/core.py\n+++ b/pkg/core.py\n@@ -40,3 +40,3 @@\n def g(x):\n"
        "     y = x + 1\n-    return y * 2\n+    return y * 9\n```\n"
    )
    edits = parse_edits(reply)
    assert isinstance(edits[0], DiffEdit)
    changes = apply_edits(repo, edits)
    assert changes["pkg/core.py"].endswith("    return y * 9\n")
    assert changes["pkg/core.py"].startswith("def f(x):\n    y = x + 1\n    return y\n")


def test_diff_that_does_not_match_is_rejected(repo):
    bad = "--- a/pkg/core.py\n+++ b/pkg/core.py\n@@ -1,2 +1,2 @@\n-def h(x):\n+def h(y):\n"
    with pytest.raises(EditRejected, match="does not match the file"):
        apply_edits(repo, parse_edits(bad))


def test_edits_stack_on_a_patched_view_and_original_is_untouched(repo):
    first = apply_edits(repo, [SearchReplace("pkg/util.py", "A = 1", "A = 100")])
    view = PatchedView(repo, first)
    second = apply_edits(view, [SearchReplace("pkg/util.py", "B = 2", "B = 200")])
    assert second["pkg/util.py"] == "A = 100\nB = 200"
    assert (repo.root / "pkg/util.py").read_text() == "A = 1\nB = 2"


def test_write_changes_deletes_and_creates(tmp_path, repo):
    copy = tmp_path / "copy"
    shutil.copytree(repo.root, copy)
    write_changes(copy, {"pkg/util.py": None, "pkg/sub/new.py": "X = 1\n"})
    assert not (copy / "pkg/util.py").exists()
    assert (copy / "pkg/sub/new.py").read_text() == "X = 1\n"


def test_whole_function_block_replaces_its_namesake(repo):
    reply = "Fixed:\n\npkg/core.py\n```python\ndef g(x):\n    y = x + 1\n    return y * 3\n```\n"
    edits = parse_edits(reply)
    changes = apply_edits(repo, edits)
    assert changes["pkg/core.py"] == CORE.replace("y * 2", "y * 3")


def test_whole_function_found_by_name_and_line_numbers_stripped(repo):
    reply = "```python\n1 | def f(x):\n2 |     y = x + 10\n3 |     return y\n```"
    changes = apply_edits(repo, parse_edits(reply))
    assert changes["pkg/core.py"].startswith("def f(x):\n    y = x + 10\n    return y\n\n\ndef g")


def test_method_is_reindented_and_imports_are_added(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "m.py").write_text(
        '"""Doc."""\n\nimport os\n\n\nclass A:\n    def run(self):\n        return 1\n'
    )
    reply = "m.py\n```python\nimport re\n\ndef run(self):\n    return re.escape('x')\n```"
    changes = apply_edits(RepoSnapshot(root), parse_edits(reply))
    assert changes["m.py"] == (
        '"""Doc."""\n\nimport os\nimport re\n\n\nclass A:\n    def run(self):\n'
        "        return re.escape('x')\n"
    )


def test_whole_function_after_a_form_feed_replaces_exactly_its_lines(repo):
    # The parser's line numbers count only newlines; a form feed line before the function
    # must not shift the splice (str.splitlines would count it as a line break).
    text = "def f():\n    return 1\n\x0c\ndef g():\n    return 2\n\n\ndef h():\n    return 3\n"
    (repo.root / "pkg" / "ff.py").write_text(text)
    reply = "pkg/ff.py\n```python\ndef h():\n    return 30\n```"
    changed = apply_edits(repo, parse_edits(reply))["pkg/ff.py"]
    assert changed == text.replace("return 3\n", "return 30\n")


def test_whole_function_rejections(repo):
    with pytest.raises(EditRejected, match="no function or class named h"):
        apply_edits(repo, parse_edits("```python\ndef h():\n    pass\n```"))
    with pytest.raises(EditRejected, match="not valid Python"):
        parse_edits("```python\ndef f(x:\n    return\n```")


def test_placeholder_function_is_rejected(repo):
    with pytest.raises(EditRejected, match="no real body"):
        apply_edits(
            repo, parse_edits('pkg/core.py\n```python\ndef f(x):\n    """Doc."""\n    ...\n```')
        )


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "```",
        "```python\n```",
        "<<<<<<< SEARCH",
        "=======\n>>>>>>> REPLACE",
        "--- a/x\n+++ b/x\n",
        "--- a/pkg/core.py\n+++ b/pkg/core.py\n@@ -1 +1 @@\n",
        "pkg/core.py\n```python\nclass f:\n    pass\n```",
        "pkg/core.py\n<<<<<<< SEARCH\ndef f(x):\n=======\ndef f(x:\n>>>>>>> REPLACE\n",
        "../../etc/passwd\n<<<<<<< SEARCH\nroot\n=======\nx\n>>>>>>> REPLACE\n",
        "\x00\x01 garbage ``` <<<<<<<",
    ],
)
def test_any_reply_becomes_a_patch_or_a_reason_never_a_crash(repo, reply):
    draft = RepairKind().parse_candidate(reply, repair_view(repo), [], 0, Origin())
    assert isinstance(draft, Draft) and draft.text == reply
    assert draft.ok != (draft.parse_error is not None)
    assert (draft.answer is None) == (draft.parse_error is not None)
    if not draft.ok:
        assert draft.parse_error.strip() and draft.state == {}
    else:
        assert draft.state["patch"] == draft.answer and draft.state["changed"]
    assert (repo.root / "pkg" / "core.py").read_text() == CORE


def node_with_patch(patch: str) -> Node:
    tree = ThoughtTree()
    root = tree.add_root("task")
    return tree.update(root.id, meta={"patch": patch})


def test_parse_candidate_builds_on_the_parent_patch_else_the_root(repo):
    kind = RepairKind()
    task = repair_view(repo)
    base = CORE.replace("y * 2", "y * 3")
    first = make_patch(repo, {"pkg/core.py": base})
    reply = "pkg/core.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n>>>>>>> REPLACE\n"
    stacked = make_patch(repo, {"pkg/core.py": base.replace("    return y\n", "    return -y\n")})
    for origin in (
        Origin(parent=node_with_patch(first), root=node_with_patch("")),
        Origin(parent=None, root=node_with_patch(first)),
    ):
        draft = kind.parse_candidate(reply, task, [], 7, origin)
        assert draft.ok, draft.parse_error
        assert draft.answer == stacked and draft.tokens == 7
        assert draft.state == {"patch": stacked, "changed": ["pkg/core.py"]}
    fresh = kind.parse_candidate(reply, task, [], 0, Origin())
    assert fresh.answer == make_patch(
        repo, {"pkg/core.py": CORE.replace("    return y\n", "    return -y\n")}
    )
    # An edit that leaves the parent's patch as it was is refused, not a new candidate.
    same = "pkg/core.py\n<<<<<<< SEARCH\ny * 3\n=======\ny * 3\n>>>>>>> REPLACE\n"
    noop = kind.parse_candidate(same, task, [], 0, Origin(parent=node_with_patch(first)))
    assert noop.answer is None and "changes nothing" in (noop.parse_error or "")
    assert (repo.root / "pkg" / "core.py").read_text() == CORE


def test_parse_candidate_refuses_an_edit_that_breaks_python_syntax(repo):
    reply = (
        "pkg/core.py\n<<<<<<< SEARCH\n    return y * 2\n=======\n    return (y * 2\n"
        ">>>>>>> REPLACE\n"
    )
    draft = RepairKind().parse_candidate(reply, repair_view(repo), [], 0, Origin())
    assert draft.answer is None
    assert "pkg/core.py is not valid Python" in (draft.parse_error or "")


def test_block_without_path_goes_to_the_one_file_holding_its_search_text(repo):
    reply = "```python\n<<<<<<< SEARCH\n    return y * 2\n=======\n    return y * 5\n>>>>>>> REPLACE\n```"
    assert "y * 5" in apply_edits(repo, parse_edits(reply))["pkg/core.py"]


def test_abbreviated_class_replaces_only_the_methods_it_gives(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "bus.py").write_text(
        "class Bus:\n    def __init__(self, subs={}):\n        self.subs = subs\n\n"
        "    def publish(self, e):\n        return self.subs.get(e, [])\n"
    )
    reply = (
        "```python\nclass Bus:\n    def __init__(self, subs=None):\n"
        "        self.subs = {} if subs is None else subs\n```"
    )
    changes = apply_edits(RepoSnapshot(root), parse_edits(reply))
    assert changes["bus.py"] == (
        "class Bus:\n    def __init__(self, subs=None):\n        self.subs = {} if subs is None else subs\n\n"
        "    def publish(self, e):\n        return self.subs.get(e, [])\n"
    )
