"""ThoughtTree: structure, backpropagation, selection, JSON round trip and the append-only log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ponder.tree import Node, ThoughtTree, TreeError


def small_tree() -> ThoughtTree:
    tree = ThoughtTree()
    root = tree.add_root("Write add(a, b).")
    plan_a = tree.add_child(root.id, "thought", "Use +.", prior=0.7)
    plan_b = tree.add_child(root.id, "thought", "Loop and count.", prior=0.3)
    good = tree.add_child(plan_a.id, "candidate", "def add(a, b):\n    return a + b\n")
    bad = tree.add_child(plan_b.id, "candidate", "def add(a, b):\n    return a - b\n")
    tree.add_verdict(good.id, "tests", {"score": 1.0, "passed": True, "feedback": "all passed"})
    tree.add_verdict(bad.id, "tests", {"score": 0.5, "passed": False, "feedback": "failed 2"})
    tree.update(bad.id, status="failed", feedback="assert add(1, 1) == 2", critique="step 1 wrong")
    tree.update(good.id, status="passed", step_scores=[0.9, 0.8], answer=None)
    tree.backpropagate(good.id, 1.0)
    tree.backpropagate(bad.id, 0.25)
    tree.set_winner(good.id)
    return tree


def test_ids_depths_and_navigation() -> None:
    tree = small_tree()
    assert [n.id for n in tree.nodes()] == ["n0", "n1", "n2", "n3", "n4"]
    assert tree.root.kind == "root" and tree.root.depth == 0
    assert [n.id for n in tree.children("n0")] == ["n1", "n2"]
    assert [n.id for n in tree.path("n3")] == ["n0", "n1", "n3"]
    assert tree.node("n3").depth == 2 and tree.node("n3").parent == "n1"
    assert tree.parent("n3").id == "n1" and tree.parent("n0") is None
    assert tree.steps("n3") == ["Use +."]
    assert {n.id for n in tree.leaves()} == {"n3", "n4"}
    assert [n.id for n in tree.candidates()] == ["n3", "n4"]
    assert tree.node("n1").prior == 0.7
    assert "n3" in tree and "n9" not in tree and len(tree) == 5


def test_backpropagate_updates_node_and_every_ancestor() -> None:
    tree = small_tree()
    root, a, b, good, bad = (tree.node(f"n{i}") for i in range(5))
    assert (root.visits, root.value_sum, root.value) == (2, 1.25, 0.625)
    assert (a.visits, a.value) == (1, 1.0)
    assert (b.visits, b.value) == (1, 0.25)
    assert (good.visits, bad.visits) == (1, 1)
    assert Node(id="x").value == 0.0
    with pytest.raises(TreeError, match="finite"):
        tree.backpropagate("n3", float("nan"))


def test_best_candidate_and_scores() -> None:
    tree = small_tree()
    assert tree.best_candidate().id == "n3"
    assert tree.best_candidate(key=lambda n: -n.value).id == "n4"
    assert tree.node("n4").passed is False and tree.node("n3").passed is True
    assert tree.node("n4").score == 0.5
    assert ThoughtTree().best_candidate() is None
    assert [n.id for n in tree.winning_path()] == ["n0", "n1", "n3"]


def test_update_rejects_unknown_or_structural_fields() -> None:
    tree = small_tree()
    with pytest.raises(TreeError, match="cannot set"):
        tree.update("n3", colour="red")
    with pytest.raises(TreeError, match="cannot set"):
        tree.update("n3", parent="n2")
    with pytest.raises(TreeError, match="bad value for 'status' on node n3"):
        tree.update("n3", status="great")
    with pytest.raises(TreeError, match="no node 'n99'"):
        tree.add_child("n99", "thought", "x")
    with pytest.raises(TreeError, match="already has a root"):
        tree.add_root("again")


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    tree = small_tree()
    tree.update("n2", meta={"tokens": 12, "nested": {"k": [1, 2.5]}}, parse_error="no code")
    data = json.loads(json.dumps(tree.to_json()))
    again = ThoughtTree.from_json(data)
    assert again.to_json() == tree.to_json()
    assert again.winner == "n3"
    assert again.add_child("n0", "thought", "new").id == "n5"  # the id counter survives
    loaded = ThoughtTree.load(tree.save(tmp_path / "tree.json"))
    assert loaded.to_json() == tree.to_json()
    assert data["graph"]["edges"][0] == {"source": "n0", "target": "n1"}


def test_from_json_rejects_other_files(tmp_path: Path) -> None:
    with pytest.raises(TreeError, match="not a Ponder tree"):
        ThoughtTree.from_json({"nodes": []})
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TreeError, match="invalid JSON"):
        ThoughtTree.load(tmp_path / "bad.json")


def build_logged(log: Path) -> ThoughtTree:
    tree = ThoughtTree()
    tree.attach_log(log)
    root = tree.add_root("q")
    a = tree.add_child(root.id, "thought", "a", prior=0.4)
    c = tree.add_child(a.id, "candidate", "answer 4", answer="4")
    tree.add_verdict(c.id, "majority", {"score": 0.75, "passed": None})
    tree.backpropagate(c.id, 0.75)
    tree.set_winner(c.id)
    tree.close_log()
    return tree


def test_replay_rebuilds_the_same_tree(tmp_path: Path) -> None:
    log = tmp_path / "tree.jsonl"
    tree = build_logged(log)
    assert len(log.read_text().splitlines()) == tree.seq == 6
    assert ThoughtTree.replay(log).to_json() == tree.to_json()


def test_replay_upto_matches_an_earlier_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "tree.jsonl"
    build_logged(log)
    early = ThoughtTree.replay(log, upto=3)
    assert early.seq == 3 and len(early) == 3 and early.node("n2").verdicts == {}
    resumed = ThoughtTree.replay(log, upto=3, attach=True)
    resumed.add_child("n1", "thought", "b")
    resumed.close_log()
    again = ThoughtTree.replay(log)
    assert [n.text for n in again.nodes()] == ["q", "a", "answer 4", "b"]
    assert again.node("n3").id == "n3" and again.seq == 4


def test_replay_survives_a_torn_last_line(tmp_path: Path) -> None:
    log = tmp_path / "tree.jsonl"
    tree = build_logged(log)
    with log.open("a") as fh:
        fh.write('{"op": "add", "node": {"id": "n')  # killed mid-write
    assert ThoughtTree.replay(log).to_json() == tree.to_json()
    resumed = ThoughtTree.replay(log, attach=True)
    resumed.add_child("n0", "thought", "after resume")
    resumed.close_log()
    assert ThoughtTree.replay(log).node("n3").text == "after resume"


def test_listeners_see_every_event() -> None:
    tree = ThoughtTree()
    seen: list[dict] = []
    tree.subscribe(seen.append)
    root = tree.add_root("q")
    tree.backpropagate(root.id, 1.0)
    assert [e["op"] for e in seen] == ["add", "backprop"]
    assert [e["seq"] for e in seen] == [1, 2]


def test_replay_of_a_missing_log_starts_fresh(tmp_path: Path) -> None:
    log = tmp_path / "run" / "tree.jsonl"
    log.parent.mkdir()
    tree = ThoughtTree.replay(log, upto=0, attach=True)
    assert len(tree) == 0
    tree.add_root("q")
    tree.close_log()
    assert ThoughtTree.replay(log).root.text == "q"
    again = ThoughtTree.replay(log, upto=0, attach=True)  # upto=0 on an existing log: start over
    again.close_log()
    assert log.read_text() == ""
