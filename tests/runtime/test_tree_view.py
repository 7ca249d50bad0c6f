"""The HTML view of a thought tree, and `ponder tree show`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from ponder.cli import app
from ponder.report.tree_view import render_tree_html, write_tree_html
from ponder.tree import ThoughtTree


def sample_tree() -> ThoughtTree:
    """A winning path n0 -> n1 -> n3 and a losing branch n2 -> (n4, n5)."""
    tree = ThoughtTree()
    root = tree.add_root("Write add(a, b).")
    a = tree.add_child(root.id, "thought", "Plan A: use <b>+</b> & return", prior=0.7)
    b = tree.add_child(root.id, "thought", "Plan B: loop", prior=0.3)
    good = tree.add_child(a.id, "candidate", "def add(a, b):\n    return a + b\n", status="passed")
    bad = tree.add_child(b.id, "candidate", "def add(a, b):\n    return a - b\n", status="failed")
    tree.add_child(b.id, "thought", "Plan B, step 2: count up", step_scores=[0.25])
    tree.add_verdict(good.id, "tests", {"score": 1.0, "passed": True, "feedback": "all passed"})
    tree.add_verdict(bad.id, "tests", {"score": 0.0, "passed": False, "feedback": "failed test 1"})
    tree.update(bad.id, feedback="AssertionError: add(1, 2) == 3", critique="Step 1 is wrong.")
    tree.update(good.id, step_scores=[0.9, 0.75])
    tree.backpropagate(good.id, 1.0)
    tree.backpropagate(bad.id, 0.0)
    tree.set_winner(good.id)
    return tree


def node_tag(html: str, node_id: str) -> str:
    match = re.search(rf'<li class="([^"]*)" id="node-{node_id}"', html)
    assert match, node_id
    return match.group(1)


def test_view_shows_scores_feedback_and_winner() -> None:
    html = render_tree_html(sample_tree(), title="run 1", result={"solution": "def add(): ..."})
    assert "winner" in node_tag(html, "n0") and "winner" in node_tag(html, "n3")
    assert "winner" not in node_tag(html, "n2")
    assert "expanded" in node_tag(html, "n1") and "expanded" not in node_tag(html, "n2")
    for text in (
        "visits 2",
        "value 0.50",
        "prior 0.70",
        "tests 1.00",
        "tests 0.00",
        "AssertionError: add(1, 2) == 3",
        "Step 1 is wrong.",
        "0.90",
        "0.75",
        "return a + b",
        "def add(): ...",
    ):
        assert text in html, text
    assert "Plan A: use &lt;b&gt;+&lt;/b&gt; &amp; return" in html  # escaped, not markup


def test_view_is_self_contained(tmp_path: Path) -> None:
    out = write_tree_html(sample_tree(), tmp_path / "deep" / "report.html", title="t")
    html = out.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<style>" in html and "<script>" in html and "http://" not in html.split("<body>")[1]


def test_empty_tree_renders() -> None:
    assert "The tree is empty." in render_tree_html(ThoughtTree())


def test_cli_tree_show_writes_report(tmp_path: Path) -> None:
    sample_tree().save(tmp_path / "tree.json")
    (tmp_path / "result.json").write_text(json.dumps({"solution": "SOLVED", "task_id": "add"}))
    result = CliRunner().invoke(app, ["tree", "show", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report.html"
    assert result.output.strip() == str(report.resolve())
    assert "SOLVED" in report.read_text() and "· add" in report.read_text()
    other = tmp_path / "x.html"
    result = CliRunner().invoke(app, ["tree", "show", str(tmp_path), "--out", str(other)])
    assert result.exit_code == 0 and other.is_file()


def test_cli_tree_show_names_missing_tree(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tree", "show", str(tmp_path)])
    assert result.exit_code != 0
    assert "tree.json does not exist" in str(result.exception)


def test_cli_tree_show_replays_the_log_of_a_killed_run(tmp_path: Path) -> None:
    tree = ThoughtTree()
    tree.attach_log(tmp_path / "tree.jsonl")
    root = tree.add_root("q")
    tree.add_child(root.id, "thought", "half-way thought")
    tree.close_log()
    result = CliRunner().invoke(app, ["tree", "show", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "half-way thought" in (tmp_path / "report.html").read_text()
