import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.errors import ConfigError
from ponder.export import export_rows
from ponder.tree import ThoughtTree


@pytest.fixture
def run_dir(tmp_path):
    """root -> t1 (-> c1 passed, c2 failed), t2 (-> c3 failed); a bench dir with one run."""
    tree = ThoughtTree()
    root = tree.add_root("Tom has 3 apples and gets 2 more. How many?")
    t1 = tree.add_child(root.id, "thought", "Add: 3 + 2.")
    t2 = tree.add_child(root.id, "thought", "Multiply: 3 * 2.")
    c1 = tree.add_child(t1.id, "candidate", "The answer is 5.")
    c2 = tree.add_child(t1.id, "candidate", "The answer is 6.")
    c3 = tree.add_child(t2.id, "candidate", "The answer is 6.")
    tree.add_verdict(c1.id, "tests", {"score": 1.0, "passed": True})
    tree.add_verdict(c2.id, "tests", {"score": 0.0, "passed": False})
    tree.update(c3.id, status="failed")
    run = tmp_path / "bench" / "run-1"
    run.mkdir(parents=True)
    tree.save(run / "tree.json")
    return tmp_path / "bench"


def test_sft_rows_are_successful_paths(run_dir):
    rows = export_rows(run_dir, "sft")
    assert rows == [
        {
            "messages": [
                {"role": "user", "content": "Tom has 3 apples and gets 2 more. How many?"},
                {"role": "assistant", "content": "Add: 3 + 2.\nThe answer is 5."},
            ]
        }
    ]


def test_dpo_pairs_from_siblings_with_different_values(run_dir):
    rows = export_rows(run_dir, "dpo")
    prompt = "Tom has 3 apples and gets 2 more. How many?"
    assert {"prompt": prompt, "chosen": "Add: 3 + 2.", "rejected": "Multiply: 3 * 2."} in rows
    assert {
        "prompt": prompt + "\n\nAdd: 3 + 2.",
        "chosen": "The answer is 5.",
        "rejected": "The answer is 6.",
    } in rows
    assert len(rows) == 2


def test_prm_rows_label_steps_by_success_beneath(run_dir):
    rows = export_rows(run_dir, "prm")
    assert {
        "prompt": rows[0]["prompt"],
        "completions": ["Add: 3 + 2.", "The answer is 5."],
        "labels": [True, True],
    } in rows
    assert {
        "prompt": rows[0]["prompt"],
        "completions": ["Add: 3 + 2.", "The answer is 6."],
        "labels": [True, False],
    } in rows
    assert {
        "prompt": rows[0]["prompt"],
        "completions": ["Multiply: 3 * 2.", "The answer is 6."],
        "labels": [False, False],
    } in rows


def test_cli_writes_jsonl(run_dir, tmp_path):
    out = tmp_path / "dpo.jsonl"
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "dpo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [set(json.loads(line)) for line in out.read_text().splitlines()] == [
        {"prompt", "chosen", "rejected"}
    ] * 2


def test_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="no tree.json under"):
        export_rows(tmp_path, "sft")
    with pytest.raises(ConfigError, match="unknown export format 'kto'"):
        export_rows(tmp_path, "kto")
