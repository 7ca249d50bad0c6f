"""`ponder repair`, `ponder repair check` and `ponder bench repair` through the CLI, with the
scripted model and the local sandbox."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

import ponder.llm
from ponder.cli import app
from ponder.errors import ConfigError
from tests.repair.conftest import SCENARIOS
from tests.repair.scripted import RepairScript, scripted_client
from tests.repair.test_repair_e2e import FIX_PAGER

cli = CliRunner()


@pytest.fixture
def scripted(monkeypatch):
    script = RepairScript([FIX_PAGER])
    monkeypatch.setattr(ponder.llm, "open_model", lambda spec, **kw: scripted_client(script))
    return script


def test_repair_scenario_writes_the_solve_run_dir_and_prints_the_patch(scripted, tmp_path):
    out = tmp_path / "run"
    args = ["repair", str(SCENARIOS / "offbyone_pagination"), "--strategy", "greedy"]
    result = cli.invoke(app, [*args, "--sandbox", "local", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "+    end = start + per_page" in result.output
    assert "resolved" in result.output and "hidden tests pass" in result.output
    assert {
        "patch.diff",
        "config.json",
        "task.json",
        "result.json",
        "tree.json",
        "events.jsonl",
        "checkpoints.sqlite",
        "report.html",
    } <= {p.name for p in out.iterdir()}
    saved = json.loads((out / "result.json").read_text())
    assert saved["kind"] == "repair" and saved["grade"]["correct"] is True
    assert (out / "patch.diff").read_text() == saved["solution"]
    # One budget meaning: --budget-tokens is completion tokens, as in `ponder solve`.
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["budget"]["tokens"] == 8000 and config["agents"]["candidate_max_tokens"] == 384


def test_repair_repo_dir_needs_a_test_command(scripted, tmp_path):
    result = cli.invoke(app, ["repair", str(tmp_path), "--problem", "it breaks"])
    assert isinstance(result.exception, ConfigError)
    assert "--test-cmd" in result.exception.message


def test_repair_swe_bench_instance_needs_a_checkout(scripted, tmp_path):
    record = {
        "instance_id": "o__r-1",
        "repo": "o/r",
        "base_commit": "abc",
        "problem_statement": "p",
        "FAIL_TO_PASS": "[]",
        "PASS_TO_PASS": "[]",
        "patch": "",
        "test_patch": "",
    }
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = cli.invoke(app, ["repair", str(path)])
    assert isinstance(result.exception, ConfigError)
    assert "--repo-dir" in result.exception.fix and "github.com/o/r" in result.exception.fix


def test_repair_plain_repository_with_options_and_apply(scripted, tmp_path):
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(SCENARIOS / "offbyone_pagination" / "repo", repo)
    issue = tmp_path / "issue.md"
    issue.write_text("get_page drops the last item of a full page")
    args = ["repair", str(repo), "--test-cmd", "python3 -m pytest -q tests", "--problem-file"]
    args += [str(issue), "--fail-to-pass", "tests/test_core.py::test_get_page_first"]
    args += ["--strategy", "refine", "--option", "max_rounds=1", "--sandbox", "local"]
    args += ["--out", str(tmp_path / "run"), "--apply"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "applied)" in result.output
    assert "end = start + per_page\n" in (repo / "pager" / "core.py").read_text()
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["strategy"] == "refine" and saved["grade"] is None  # no hidden part


def test_bad_strategy_option_names_the_option(scripted, tmp_path):
    args = ["repair", str(SCENARIOS / "offbyone_pagination"), "--strategy", "mcts"]
    args += ["--option", "widht=2", "--sandbox", "local", "--out", str(tmp_path / "r")]
    result = cli.invoke(app, args)
    assert isinstance(result.exception, ConfigError)
    assert "widht" in result.exception.message


def test_the_repair_scenarios_bench_like_any_scenario(scripted, tmp_path):
    """`ponder bench repair` is the generic bench on the `repair` scenario."""
    out = tmp_path / "bench"
    args = ["bench", "repair", "--ids", "offbyone_pagination", "--strategies", "greedy"]
    result = cli.invoke(app, [*args, "--budgets", "1", "--sandbox", "local", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert row["task_id"] == "offbyone_pagination" and row["strategy"] == "greedy"
    assert row["correct"] is True


def _check(args: list[str]):
    return cli.invoke(app, ["repair", "check", *args])


@pytest.fixture
def pager_args(scripted, tmp_path):
    """`ponder repair check` arguments for the pagination scenario, with its hidden tests."""
    from ponder.repair.task import load_scenario

    task = load_scenario(SCENARIOS / "offbyone_pagination")
    hidden = SCENARIOS / "offbyone_pagination" / "hidden" / "tests" / "test_hidden_pages.py"
    repository = task.visible.repository
    args = [str(SCENARIOS / "offbyone_pagination" / "repo"), "--test-cmd", repository.test_cmd]
    args += ["--sandbox", "local", "--hidden-tests", str(hidden)]
    for tid in repository.fail_to_pass:
        args += ["--fail-to-pass", tid]
    for tid in repository.pass_to_pass:
        args += ["--pass-to-pass", tid]
    (tmp_path / "fix.diff").write_text(task.hidden.reference_solution or "")
    return args


def test_repair_check_grades_the_reference_as_resolved(pager_args, tmp_path):
    result = _check([*pager_args, "--patch", str(tmp_path / "fix.diff"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["resolved"] is True and data["problems"] == []
    kinds = {t["kind"] for t in data["tests"]}
    assert kinds == {"fail_to_pass", "pass_to_pass", "hidden"}
    assert all(t["outcome"] == "passed" for t in data["tests"])


def test_repair_check_fails_a_conftest_patch_and_an_empty_one(pager_args, tmp_path):
    cheat = tmp_path / "cheat.diff"
    cheat.write_text(
        "--- /dev/null\n+++ b/conftest.py\n@@ -0,0 +1,2 @@\n+import pytest\n+collect_ignore = []\n"
    )
    result = _check([*pager_args, "--patch", str(cheat), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["resolved"] is False and data["refused"] is True
    assert "conftest.py" in data["problems"][0]
    empty = tmp_path / "empty.diff"
    empty.write_text("")
    result = _check([*pager_args, "--patch", str(empty)])
    assert result.exit_code == 1 and "NOT resolved" in result.output
    assert "tests/test_core.py::test_get_page_first" in result.output


def test_repair_check_bad_input_names_the_input(pager_args, tmp_path):
    result = _check([*pager_args, "--patch", str(tmp_path / "nope.diff")])
    assert isinstance(result.exception, ConfigError)
    assert "nope.diff" in result.exception.message and result.exception.fix
    junk = tmp_path / "junk.diff"
    junk.write_text("not a diff\n")
    result = _check([*pager_args, "--patch", str(junk)])
    assert (
        isinstance(result.exception, ConfigError)
        and "not a unified diff" in result.exception.message
    )
    fix = tmp_path / "fix.diff"
    result = _check([str(tmp_path / "norepo"), "--patch", str(fix), "--test-cmd", "pytest"])
    assert isinstance(result.exception, ConfigError) and "norepo" in result.exception.message


def test_repair_check_bad_input_exits_2(tmp_path, monkeypatch, capsys):
    import ponder.cli

    monkeypatch.setattr(
        sys,
        "argv",
        [
            "ponder",
            "repair",
            "check",
            str(tmp_path / "missing"),
            "--patch",
            "x.diff",
            "--test-cmd",
            "pytest",
        ],
    )
    with pytest.raises(SystemExit) as exited:
        ponder.cli.main()
    assert exited.value.code == 2
    assert "missing" in capsys.readouterr().err
