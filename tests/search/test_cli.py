"""`ponder solve`, `ponder graph`, run configs and the interactive review."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.config import load_config
from ponder.errors import ConfigError
from ponder.task import save_tasks
from tests.search.conftest import run
from tests.search.scripted import BAD, GOOD, Responder, code_task


@pytest.fixture
def scripted_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PONDER_ALLOW_SCRIPTED", "1")
    monkeypatch.setenv("PONDER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_solve_cli_writes_the_run_dir_and_prints_the_solution(scripted_env):
    tmp = scripted_env
    save_tasks([code_task()], tmp / "tasks.jsonl")
    (tmp / "replies.json").write_text(json.dumps([BAD, "Wrong step: none\nIt subtracts.", GOOD]))
    (tmp / "run.yaml").write_text("strategy: greedy\nsearch: {}\nbudget: {tokens: 4000}\n")
    result = CliRunner().invoke(
        app,
        [
            "solve",
            f"{tmp / 'tasks.jsonl'}#add",
            "--config",
            str(tmp / "run.yaml"),
            "--strategy",
            "refine",
            "--model",
            f"scripted:{tmp / 'replies.json'}",
            "--sandbox",
            "local",
            "--out",
            str(tmp / "run"),
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "return a + b" in result.stdout
    config = json.loads((tmp / "run" / "config.json").read_text())["config"]
    assert config["strategy"] == "refine" and config["seed"] == 3  # CLI overrides the file
    assert config["budget"]["tokens"] == 4000  # the file's value where the CLI is silent
    saved = json.loads((tmp / "run" / "result.json").read_text())
    assert saved["grade"]["correct"] is True and saved["passed_public"] is True
    for name in ("tree.json", "events.jsonl", "report.html", "checkpoints.sqlite"):
        assert (tmp / "run" / name).is_file()
    # The same directory again is refused; --resume of a finished run reprints the result.
    again = CliRunner().invoke(
        app,
        [
            "solve",
            str(tmp / "tasks.jsonl"),
            "--out",
            str(tmp / "run"),
            "--model",
            f"scripted:{tmp / 'replies.json'}",
        ],
    )
    assert again.exit_code != 0 and "already holds a run" in str(again.exception)
    resumed = CliRunner().invoke(app, ["solve", "--resume", str(tmp / "run"), "--sandbox", "local"])
    assert resumed.exit_code == 0, resumed.output
    assert "return a + b" in resumed.stdout


def test_solve_with_prompt_and_tests_file(scripted_env):
    tmp = scripted_env
    (tmp / "tests.py").write_text("assert add(1, 2) == 3\n")
    (tmp / "replies.json").write_text(json.dumps([GOOD]))
    result = CliRunner().invoke(
        app,
        [
            "solve",
            "--prompt",
            "def add(a, b):\n    '''Sum.'''\n",
            "--tests",
            str(tmp / "tests.py"),
            "--strategy",
            "greedy",
            "--model",
            f"scripted:{tmp / 'replies.json'}",
            "--sandbox",
            "local",
            "--out",
            str(tmp / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp / "run" / "result.json").read_text())
    assert saved["passed_public"] is True and saved["grade"] is None  # no hidden part


def test_unknown_task_reference_is_a_clear_error(scripted_env):
    result = CliRunner().invoke(app, ["solve", "no-such-file.jsonl", "--sandbox", "local"])
    assert result.exit_code != 0
    assert "neither a task file nor a scenario reference" in str(result.exception)


def test_graph_prints_mermaid():
    result = CliRunner().invoke(app, ["graph"])
    assert result.exit_code == 0
    for phase in (
        "select",
        "expand",
        "execute",
        "score",
        "review",
        "refine",
        "backpropagate",
        "finalize",
    ):
        assert f"{phase}({phase})" in result.stdout
    assert "score -.-> review;" in result.stdout


def test_config_errors_name_the_file_and_option(tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text("strategy: mcts\nbudget: {tokens: -5}\n")
    with pytest.raises(ConfigError, match="run.yaml.*budget.tokens"):
        load_config(bad)
    bad.write_text("stratgy: mcts\n")
    with pytest.raises(ConfigError, match="stratgy"):
        load_config(bad)


async def test_unknown_strategy_option_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="bad option 'depth' for strategy 'mcts'"):
        await run(code_task(), tmp_path, None, "mcts", search={"depth": 3})


async def test_interactive_review_can_reject_a_candidate(local_sandbox, tmp_path):
    seen = []

    def approve(payload):
        seen.append(payload["candidate"])
        return len(seen) > 1  # reject the first choice, accept the next

    from ponder.config import RunConfig
    from ponder.runner import solve_task
    from tests.search.conftest import scripted

    model, _ = scripted(Responder())
    cfg = RunConfig(strategy="best_of_n", search={"n": 3}, interactive=True)
    result = await solve_task(
        code_task(),
        cfg,
        model=model,
        sandbox=local_sandbox,
        out_dir=tmp_path / "run",
        approve=approve,
    )
    assert len(seen) == 2 and seen[0] != seen[1]
    assert result.candidate_id == seen[1]
    tree = json.loads((tmp_path / "run" / "tree.json").read_text())
    rejected = [n for n in tree["graph"]["nodes"] if n["meta"].get("rejected_by_user")]
    assert [n["id"] for n in rejected] == [seen[0]]
    events = [
        json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()
    ]
    assert [e["decision"] for e in events if e["event"] == "decision"] == ["reject", "accept"]


def test_task_reference_forms(tmp_path):
    from ponder.runner import load_task_ref

    save_tasks([code_task()], tmp_path / "tasks.jsonl")
    assert load_task_ref(f"{tmp_path / 'tasks.jsonl'}#add").id == "add"
    assert load_task_ref(str(tmp_path / "tasks.jsonl")).id == "add"
    with pytest.raises(ConfigError, match="no task 'nope'"):
        load_task_ref(f"{tmp_path / 'tasks.jsonl'}#nope")
    try:
        task = load_task_ref("humaneval/HumanEval/0")  # a scenario ref (needs the shared data)
    except ConfigError as exc:
        pytest.skip(f"scenario data unavailable: {exc.message}")
    assert task.id.endswith("HumanEval/0") and task.kind == "code" and task.hidden.hidden_tests


def test_solve_cli_interactive_review(scripted_env):
    tmp = scripted_env
    save_tasks([code_task()], tmp / "tasks.jsonl")
    (tmp / "replies.json").write_text(json.dumps([GOOD, BAD]))
    result = CliRunner().invoke(
        app,
        [
            "solve", str(tmp / "tasks.jsonl"), "--strategy", "best_of_n", "--interactive",
            "--model", f"scripted:{tmp / 'replies.json'}", "--sandbox", "local",
            "--out", str(tmp / "run"),
        ],
        input="n\ny\n",  # reject the first candidate shown, accept the next
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in (tmp / "run" / "events.jsonl").read_text().splitlines()]
    assert [e["decision"] for e in events if e["event"] == "decision"] == ["reject", "accept"]
