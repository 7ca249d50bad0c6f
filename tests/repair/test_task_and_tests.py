"""Repair task loaders (our scenarios, SWE-bench instances as they are), test-outcome parsing,
the result cache, and localization from the failing traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ponder.errors import ConfigError, TaskFormatError
from ponder.repair.localize import localize, traceback_frames
from ponder.repair.task import load_scenario, load_swe_bench, swe_bench_task, task_from_repo
from ponder.repair.testing import RunOutput, prepare_command, score_run
from ponder.repair.tools import RepoTools
from ponder.repair.workspace import RepoSnapshot
from tests.repair.conftest import SCENARIOS

SWE_LITE = (
    Path(os.environ.get("PONDER_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "swe_bench_lite"
    / "test.jsonl"
)


def test_scenario_loader_errors_name_the_file_and_field(tmp_path):
    with pytest.raises(TaskFormatError, match="missing repo"):
        load_scenario(tmp_path)
    (tmp_path / "repo").mkdir()
    (tmp_path / "problem.md").write_text("bug")
    (tmp_path / "scenario.json").write_text('{"test_cmd": "pytest", "fail_to_pas": []}')
    with pytest.raises(TaskFormatError, match="scenario.json: field 'fail_to_pas'"):
        load_scenario(tmp_path)
    (tmp_path / "scenario.json").write_text('{"test_cmd": ')
    with pytest.raises(TaskFormatError, match="invalid JSON"):
        load_scenario(tmp_path)


def test_task_from_repo_checks_inputs(tmp_path):
    with pytest.raises(ConfigError, match="not a directory"):
        task_from_repo(tmp_path / "nope", "bug", "pytest")
    with pytest.raises(ConfigError, match="problem statement is empty"):
        task_from_repo(tmp_path, "  ", "pytest")
    task = task_from_repo(tmp_path, "bug", "pytest", ["tests/t.py::a"])
    assert task.spec.fail_to_pass == ["tests/t.py::a"] and task.hidden.reference_patch is None


@pytest.mark.skipif(not SWE_LITE.is_file(), reason="SWE-bench Lite reference data not present")
def test_swe_bench_lite_loads_as_it_is_with_the_gold_hidden():
    tasks = load_swe_bench(SWE_LITE)
    assert len(tasks) == 300
    task = tasks[0]
    raw = json.loads(SWE_LITE.read_text().splitlines()[0])
    assert task.id == raw["instance_id"] and task.spec.base_commit == raw["base_commit"]
    assert task.spec.repo_url == f"https://github.com/{raw['repo']}.git"
    assert task.hidden.fail_to_pass == json.loads(raw["FAIL_TO_PASS"])
    visible = task.view().model_dump_json()
    assert raw["patch"] not in visible and raw["test_patch"] not in visible
    assert task.spec.fail_to_pass == [] and task.spec.repo_dir is None
    oracle = load_swe_bench(SWE_LITE, raw["instance_id"], tests_visible=True)[0]
    assert oracle.spec.setup_patch == raw["test_patch"] and oracle.spec.fail_to_pass
    assert raw["patch"] not in oracle.view().model_dump_json()


def test_swe_bench_bad_instance_names_the_field():
    with pytest.raises(TaskFormatError, match="field 'base_commit'"):
        swe_bench_task(
            {"instance_id": "x", "repo": "a/b", "problem_statement": "p"}, "f.jsonl: line 3"
        )
    with pytest.raises(TaskFormatError, match="field 'FAIL_TO_PASS'"):
        swe_bench_task(
            {
                "instance_id": "x",
                "repo": "a/b",
                "base_commit": "c",
                "problem_statement": "p",
                "FAIL_TO_PASS": "not json",
            }
        )


def test_prepare_command_adds_per_test_lines_to_pytest_only():
    assert (
        prepare_command("python3 -m pytest -q tests")
        == "python3 -m pytest -q tests -rA -p no:cacheprovider"
    )
    assert prepare_command("make test") == "make test"


def test_score_run_reads_pytest_summary():
    output = (
        "PASSED tests/a.py::test_ok\nFAILED tests/a.py::test_bad - assert 1 == 2\n"
        "PASSED tests/b.py::test_p[1]\nFAILED tests/b.py::test_p[2] - x\nERROR tests/c.py::test_e\n"
    )
    run = RunOutput("error", 1, output)
    report = score_run(
        run,
        ["tests/a.py::test_bad", "tests/a.py::test_ok"],
        ["tests/b.py::test_p", "tests/c.py::test_e", "tests/a.py::test_ok"],
    )
    assert report.f2p_failed == ["tests/a.py::test_bad"] and report.f2p_passed == [
        "tests/a.py::test_ok"
    ]
    assert report.p2p_broken == ["tests/b.py::test_p", "tests/c.py::test_e"]
    assert not report.resolved and report.value() == pytest.approx(0.5 * (1 - 2 / 3), abs=1e-3)


def test_score_run_without_ids_or_summary_uses_the_exit_code():
    assert score_run(RunOutput("ok", 0, "all good"), [], []).resolved
    collection_error = score_run(RunOutput("error", 2, "ImportError"), ["t.py::a"], ["t.py::b"])
    assert collection_error.f2p_failed == ["t.py::a"] and collection_error.p2p_broken == ["t.py::b"]


async def test_runner_caches_by_repository_patch_and_command(runner):
    snapshot = RepoSnapshot(SCENARIOS / "offbyone_pagination" / "repo")
    first = await runner.run(snapshot, "", "python3 -c 'print(41 + 1)'")
    again = await runner.run(snapshot, "", "python3 -c 'print(41 + 1)'")
    assert "42" in first.output and again.cached and again.output == first.output
    other = await runner.run(snapshot, "", "python3 -c 'print(1)'")
    assert not other.cached


def test_traceback_frames_map_to_repository_files():
    output = (
        '  File "/tmp/ponder-repair-x/repo/retrying/client.py", line 13, in fetch\n'
        "tests/test_client.py:17: in test_fetch_raises_after_retries\n"
        "retrying/client.py:13: TypeError\n"
    )
    files = ["retrying/client.py", "tests/test_client.py"]
    frames = traceback_frames(output, files)
    assert ("retrying/client.py", 13, "fetch") in frames
    assert ("tests/test_client.py", 17, "test_fetch_raises_after_retries") in frames


@pytest.mark.parametrize("name", ["far_from_cause_cents", "two_file_sku", "offbyone_pagination"])
async def test_localization_puts_the_files_to_fix_in_the_top_three(name, runner):
    task = load_scenario(SCENARIOS / name)
    tools = RepoTools(RepoSnapshot(task.spec.repo_dir))
    report = await tools.run_tests(task.spec, runner)
    loc = localize(task.spec, tools, report.output)
    from ponder.repair.edits import apply_patch

    to_fix = set(apply_patch(tools.snapshot, task.hidden.reference_patch))
    assert to_fix <= set(loc.paths(3)), loc.to_dict()
    assert not any(p.startswith("tests/") for p in loc.paths(5))


class RecordingSandbox:
    """Answers every job with a pytest-like summary and keeps the jobs it was given."""

    isolated = True

    def __init__(self) -> None:
        self.jobs = []

    async def run(self, job):
        from ponder.sandbox.base import ExecResult

        self.jobs.append(job)
        return ExecResult(status="ok", exit_code=0, stdout="PASSED tests/test_core.py::test_x\n")


async def test_sandbox_runner_sends_the_patched_repository_as_job_files():
    from ponder.repair.testing import SandboxRunner

    task = load_scenario(SCENARIOS / "offbyone_pagination")
    sandbox = RecordingSandbox()
    runner = SandboxRunner(sandbox)
    snapshot = RepoSnapshot(task.spec.repo_dir)
    out = await runner.run(snapshot, task.hidden.reference_patch, task.spec.test_cmd)
    job = sandbox.jobs[0]
    assert "end = start + per_page\n" in job.files["pager/core.py"]
    assert "tests/test_core.py" in job.files and job.command[:2] == ["sh", "-c"]
    assert "-rA" in job.command[2] and out.exit_code == 0
    again = await runner.run(snapshot, task.hidden.reference_patch, task.spec.test_cmd)
    assert again.cached and len(sandbox.jobs) == 1


@pytest.mark.docker
async def test_sandbox_runner_on_the_docker_pool():
    from ponder.repair.testing import SandboxRunner, run_and_score
    from ponder.sandbox import open_sandbox

    task = load_scenario(SCENARIOS / "wrong_condition_discount")
    spec = task.spec
    async with open_sandbox("docker") as sandbox:
        runner = SandboxRunner(sandbox)
        snapshot = RepoSnapshot(spec.repo_dir)
        args = (spec.test_cmd, spec.fail_to_pass, spec.pass_to_pass)
        before = await run_and_score(runner, snapshot, "", *args)
        after = await run_and_score(runner, snapshot, task.hidden.reference_patch, *args)
    assert before.f2p_failed == spec.fail_to_pass, before.output[-1500:]
    assert after.resolved, after.output[-1500:]
