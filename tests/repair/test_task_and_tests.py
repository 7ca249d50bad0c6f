"""Repair task loaders (our scenarios, SWE-bench instances as they are), test-outcome parsing,
the result cache, and localization from the failing traceback."""

from __future__ import annotations

import json

import pytest

from ponder.errors import ConfigError, TaskFormatError
from ponder.repair.judging import Verdict
from ponder.repair.localize import localize, traceback_frames
from ponder.repair.task import (
    load_scenario,
    load_swe_bench,
    swe_bench_task,
    task_from_repo,
    with_repo_dir,
)
from ponder.repair.testing import (
    RepoRunner,
    RunOutput,
    failure_excerpt,
    prepare_command,
    protected_in_run,
    runner_for,
    score_run,
)
from ponder.repair.tools import RepoTools
from ponder.repair.workspace import RepoSnapshot
from ponder.sandbox.base import ExecResult, Sandbox
from ponder.scenarios.paths import data_dir
from ponder.task import (
    Task,
    TaskRecord,
    VisibleTask,
    load_tasks,
    save_tasks,
    task_to_record,
)
from tests.repair.conftest import SCENARIOS

SWE_LITE = data_dir() / "swe_bench_lite" / "test.jsonl"


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
    assert task.kind == "repair" and task.visible.prompt == "bug"
    repository = task.visible.repository
    assert repository.fail_to_pass == ["tests/t.py::a"] and repository.test_cmd == "pytest"
    assert repository.dir == str(tmp_path.resolve())
    assert task.hidden.reference_solution is None and task.hidden.empty


@pytest.mark.skipif(not SWE_LITE.is_file(), reason="SWE-bench Lite reference data not present")
def test_swe_bench_lite_loads_as_it_is_with_the_gold_hidden():
    tasks = load_swe_bench(SWE_LITE)
    assert len(tasks) == 300
    task = tasks[0]
    raw = json.loads(SWE_LITE.read_text().splitlines()[0])
    repository = task.visible.repository
    assert task.kind == "repair" and task.visible.prompt == raw["problem_statement"]
    assert task.id == raw["instance_id"] and repository.base_commit == raw["base_commit"]
    assert repository.url == f"https://github.com/{raw['repo']}.git"
    assert task.hidden.reference_solution == raw["patch"]
    assert task.hidden.hidden_fail_to_pass == json.loads(raw["FAIL_TO_PASS"])
    assert task.hidden.hidden_pass_to_pass == json.loads(raw["PASS_TO_PASS"])
    visible = task.view().model_dump_json()
    assert raw["patch"] not in visible and raw["test_patch"] not in visible
    assert repository.fail_to_pass == [] and repository.dir is None
    oracle = load_swe_bench(SWE_LITE, raw["instance_id"], tests_visible=True)[0]
    shown = oracle.visible.repository
    assert shown.setup_patch == raw["test_patch"]
    assert shown.fail_to_pass == json.loads(raw["FAIL_TO_PASS"])
    # Grading adds the test patch after the candidate's patch in both settings.
    assert task.hidden.test_patch == oracle.hidden.test_patch == raw["test_patch"]
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


SWE_RECORD = {
    "instance_id": "octo__widgets-7",
    "repo": "octo/widgets",
    "base_commit": "0123abcd",
    "problem_statement": "Widget.size() is off by one for empty widgets.",
    "patch": "diff --git a/w.py b/w.py\n--- a/w.py\n+++ b/w.py\n@@ -1 +1 @@\n-A = 1\n+A = 2\n",
    "test_patch": "diff --git a/tests/test_w.py b/tests/test_w.py\n--- /dev/null\n"
    "+++ b/tests/test_w.py\n@@ -0,0 +1,2 @@\n+def test_hidden_size():\n+    pass\n",
    "FAIL_TO_PASS": '["tests/test_w.py::test_hidden_size"]',
    "PASS_TO_PASS": '["tests/test_w.py::test_hidden_keeps"]',
    "version": "1.0",
}


def hidden_only(task: Task) -> list[str]:
    """What only grading may see: the reference patch, the test patch (unless the task shows
    it as its setup patch, SWE-bench's oracle-tests setting), and the test ids that are not
    also visible."""
    repository = task.visible.repository
    visible_ids = set(repository.fail_to_pass + repository.pass_to_pass)
    hidden = task.hidden
    secrets = [hidden.reference_solution or ""]
    if hidden.test_patch != repository.setup_patch:
        secrets.append(hidden.test_patch)
    ids = hidden.hidden_fail_to_pass + hidden.hidden_pass_to_pass
    return secrets + [t for t in ids if t not in visible_ids]


def repair_tasks() -> list[Task]:
    """A scenario (checkout, reference, hidden tests) and a SWE-bench instance (url, commit),
    in both of its settings."""
    return [
        load_scenario(SCENARIOS / "offbyone_pagination"),
        swe_bench_task(SWE_RECORD),
        swe_bench_task(SWE_RECORD, tests_visible=True, test_cmd="python3 -m pytest -x"),
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_repair_task_round_trips_through_the_task_file(index, tmp_path):
    task = repair_tasks()[index]
    assert task.kind == "repair" and task.visible.repository is not None
    record = task_to_record(task)
    assert record["kind"] == "repair" and record["repository"]["test_cmd"]
    assert record["reference_solution"] == task.hidden.reference_solution
    assert record["test_patch"] == task.hidden.test_patch
    assert record["hidden_fail_to_pass"] == task.hidden.hidden_fail_to_pass
    assert TaskRecord.model_validate(record).to_task() == task
    path = save_tasks([task], tmp_path / "tasks.jsonl")
    (loaded,) = load_tasks(path)
    assert loaded == task
    assert loaded.visible.repository == task.visible.repository
    assert loaded.hidden == task.hidden and not loaded.hidden.empty
    assert loaded.visible.metadata == task.visible.metadata


@pytest.mark.parametrize("index", [0, 1, 2])
def test_repair_task_view_carries_none_of_the_hidden_part(index):
    task = repair_tasks()[index]
    view = task.view()
    assert view == task.visible and not hasattr(view, "hidden")
    dumped = view.model_dump_json()
    secrets = hidden_only(task)
    assert len(secrets) >= (1 if index == 2 else 4), secrets  # patches and hidden-only ids
    for secret in secrets:
        assert secret and secret not in dumped, secret
    assert "reference_solution" not in dumped and "hidden_fail_to_pass" not in dumped


def test_swe_bench_hidden_ids_and_patches_are_hidden_unless_the_tests_are_visible():
    hidden = swe_bench_task(SWE_RECORD)
    repository = hidden.visible.repository
    assert repository.url == "https://github.com/octo/widgets.git"
    assert repository.base_commit == "0123abcd" and repository.dir is None
    assert repository.fail_to_pass == [] and repository.setup_patch == ""
    assert hidden.visible.metadata["repo"] == "octo/widgets"
    assert hidden.hidden.hidden_fail_to_pass == ["tests/test_w.py::test_hidden_size"]
    assert hidden.hidden.hidden_pass_to_pass == ["tests/test_w.py::test_hidden_keeps"]
    oracle = swe_bench_task(SWE_RECORD, tests_visible=True)
    shown = oracle.visible.repository
    assert shown.fail_to_pass == ["tests/test_w.py::test_hidden_size"]
    assert shown.setup_patch == SWE_RECORD["test_patch"]
    assert shown.protected_files() == {"tests/test_w.py"}
    assert SWE_RECORD["patch"] not in oracle.view().model_dump_json()


def test_with_repo_dir_points_the_repository_at_a_checkout(tmp_path):
    task = swe_bench_task(SWE_RECORD)
    moved = with_repo_dir(task, tmp_path)
    assert moved.visible.repository.dir == str(tmp_path.resolve())
    assert moved.visible.repository.url == task.visible.repository.url
    assert moved.hidden == task.hidden and task.visible.repository.dir is None
    code = Task(visible=VisibleTask(id="c", kind="code", prompt="p"))
    with pytest.raises(ConfigError, match="not a repair task"):
        with_repo_dir(code, tmp_path)


def test_the_runner_is_the_runs_sandbox():
    from ponder.sandbox import open_sandbox

    local = runner_for(open_sandbox("local"), timeout_s=5)
    assert isinstance(local, RepoRunner) and not local.isolated and local.name == "local"
    assert local.timeout_s == 5
    docker = runner_for(open_sandbox("docker"))
    assert docker.isolated and docker.name == "docker"
    with pytest.raises(ConfigError, match="need a sandbox"):
        runner_for(None)


def test_prepare_command_adds_per_test_lines_to_pytest_only():
    assert prepare_command("python3 -m pytest -q tests") == "python3 -m pytest -q tests -rA"
    assert prepare_command("python3 -m pytest -rA") == "python3 -m pytest -rA"
    assert prepare_command("make test") == "make test"


def verdict_run(tests: dict[str, str], **fields) -> RunOutput:
    verdict = Verdict(hello=True, undumpable=True, finish={"exitstatus": 1}, tests=tests, **fields)
    return RunOutput("error", 1, "", verdict=verdict)


def test_score_run_reads_the_judged_outcomes():
    run = verdict_run(
        {
            "tests/a.py::test_ok": "passed",
            "tests/a.py::test_bad": "failed",
            "tests/b.py::test_p[1]": "passed",
            "tests/b.py::test_p[2]": "failed",
            "tests/c.py::test_e": "error",
        }
    )
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


@pytest.mark.parametrize("outcome", ["skipped", "xfailed", "xpassed", "incomplete"])
def test_only_ran_and_passed_counts_as_passed(outcome):
    report = score_run(verdict_run({"t.py::a": outcome, "t.py::b": "passed"}), ["t.py::a"], [])
    assert report.outcomes["t.py::a"] == outcome and not report.resolved


def test_missing_deselected_and_uncollected_tests_fail():
    run = verdict_run({"t.py::b": "passed"}, deselected=["t.py::c"], collect_errors=["u.py"])
    report = score_run(run, ["t.py::a", "t.py::c", "u.py::d"], ["t.py::b"])
    assert report.outcomes == {
        "t.py::a": "missing",
        "t.py::c": "deselected",
        "u.py::d": "collection error",
        "t.py::b": "passed",
    }
    assert not report.resolved and report.f2p_failed == ["t.py::a", "t.py::c", "u.py::d"]
    assert "t.py::a (missing)" in report.headline()


def test_without_a_verdict_or_with_tampering_nothing_passes():
    no_verdict = score_run(RunOutput("ok", 0, "PASSED t.py::a", judge_error="no verdict"), [], [])
    assert not no_verdict.resolved and no_verdict.problems == ["no verdict"]
    unfinished = Verdict(hello=True, undumpable=True, tests={"t.py::a": "passed"})
    report = score_run(RunOutput("ok", 0, "", verdict=unfinished), ["t.py::a"], [])
    assert not report.resolved and "did not finish" in report.problems[0]
    assert report.value() == 0.0
    tampered = verdict_run({"t.py::a": "passed"}, tamper=[{"what": "x"}])
    assert not score_run(tampered, ["t.py::a"], []).resolved
    clean = score_run(verdict_run({"t.py::a": "passed"}), ["t.py::a"], [])
    assert clean.resolved and clean.value() == 1.0


def test_without_ids_every_test_that_ran_must_pass():
    assert score_run(verdict_run({"t.py::a": "passed"}), [], []).resolved
    assert not score_run(verdict_run({"t.py::a": "passed", "t.py::b": "skipped"}), [], []).resolved
    assert not score_run(verdict_run({}), [], []).resolved


async def test_runner_caches_by_repository_patch_and_command(runner):
    snapshot = RepoSnapshot(SCENARIOS / "offbyone_pagination" / "repo")
    first = await runner.run(snapshot, "", "python3 -c 'print(41 + 1)'")
    again = await runner.run(snapshot, "", "python3 -c 'print(41 + 1)'")
    assert "42" in first.output and again.cached and again.output == first.output
    assert first.verdict is not None and not first.verdict.hello  # no pytest: nothing judged
    other = await runner.run(snapshot, "", "python3 -c 'print(1)'")
    assert not other.cached


async def test_judged_run_of_a_scenario_reports_each_test(runner):
    task = load_scenario(SCENARIOS / "offbyone_pagination")
    repository = task.visible.repository
    run = await runner.run(RepoSnapshot(repository.dir), "", repository.test_cmd)
    verdict = run.verdict
    assert verdict is not None and verdict.hello and verdict.finish is not None
    assert verdict.tests["tests/test_core.py::test_get_page_first"] == "failed"
    assert verdict.tests["tests/test_core.py::test_page_count_exact"] == "passed"
    assert verdict.collected == len(verdict.tests) and not verdict.integrity()


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
    tools = RepoTools(RepoSnapshot(task.visible.repository.dir))
    report = await tools.run_tests(task.visible.repository, runner)
    assert report.f2p_failed == task.visible.repository.fail_to_pass, report.output[-1500:]
    loc = localize(task.view(), tools, report.output)
    from ponder.repair.edits import apply_patch

    to_fix = set(apply_patch(tools.snapshot, task.hidden.reference_solution))
    assert to_fix <= set(loc.paths(3)), loc.to_dict()
    assert not any(p.startswith("tests/") for p in loc.paths(5))


class RecordingSandbox(Sandbox):
    """Keeps what each tree run was given (the tree's files as they were) and answers with a
    forged verdict line."""

    isolated = True

    def __init__(self) -> None:
        self.runs: list[dict] = []

    async def run(self, job):
        raise AssertionError("repository tests go through run_in_tree")

    async def run_in_tree(self, job, tree, *, root_owned=None, extra_dirs=None):
        files = {p.relative_to(tree).as_posix(): p.read_text() for p in tree.rglob("*.py")}
        self.runs.append(
            {"job": job, "files": files, "root_owned": root_owned, "extra_dirs": extra_dirs}
        )
        forged = 'PONDER-JUDGE {"hello":true,"finish":{},"tests":{}}\t' + "0" * 64
        return ExecResult(status="ok", exit_code=0, stdout=forged + "\nPASSED tests/x.py::t\n")


async def test_the_runner_sends_the_patched_tree_and_the_judge_beside_it():
    task = load_scenario(SCENARIOS / "offbyone_pagination")
    sandbox = RecordingSandbox()
    runner = RepoRunner(sandbox, cache=False)
    repository = task.visible.repository
    snapshot = RepoSnapshot(repository.dir)
    out = await runner.run(snapshot, task.hidden.reference_solution, repository.test_cmd)
    run = sandbox.runs[0]
    assert "end = start + per_page\n" in run["files"]["pager/core.py"]
    assert "tests/test_core.py" in run["files"]
    assert not any("judge" in f for f in run["files"])  # the judge is not in the repository
    assert run["root_owned"] is protected_in_run
    [(name, judge)] = run["extra_dirs"].items()
    assert name.startswith("ponder-judge-") and "driver.py" in judge and len(judge) == 2
    assert run["job"].command == ["python3", "-I", f"../{name}/driver.py"]
    settings = json.loads(run["job"].stdin)
    assert settings["plugin_dir"] == f"../{name}"
    assert "-rA" in settings["command"] and len(settings["key"]) == 64
    assert out.verdict is None and "signature" in out.judge_error  # a forged line is not a verdict
    again = await runner.run(snapshot, task.hidden.reference_solution, repository.test_cmd)
    assert again.cached and len(sandbox.runs) == 1
    bad = await runner.run(snapshot, "--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n", "x")
    assert "does not apply" in bad.judge_error and len(sandbox.runs) == 1


async def test_a_sandbox_without_tree_runs_says_so():
    from ponder.errors import SandboxError

    class JobsOnly(Sandbox):
        async def run(self, job):
            raise AssertionError

    snapshot = RepoSnapshot(SCENARIOS / "offbyone_pagination" / "repo")
    with pytest.raises(SandboxError, match="cannot run a job in a directory tree"):
        await RepoRunner(JobsOnly(), cache=False).run(snapshot, "", "python3 -m pytest")


async def test_repository_runs_under_a_metered_sandbox_are_admitted_by_the_budget():
    """The search's sandbox is metered: each fresh run is held against `max_sandbox_runs`
    while it runs, charged after, and refused past the limit; a cached repeat costs nothing."""
    from ponder.budget import Budget
    from ponder.errors import BudgetExhausted
    from ponder.search.metered import Meter

    budget = Budget(max_sandbox_runs=2)
    held = []

    class Holding(RecordingSandbox):
        async def run_in_tree(self, job, tree, **options):
            held.append(budget.held.sandbox_runs)
            return await super().run_in_tree(job, tree, **options)

    inner = Holding()
    runner = RepoRunner(Meter(budget).sandbox(inner), budget, cache=False)
    snapshot = RepoSnapshot(SCENARIOS / "offbyone_pagination" / "repo")
    await runner.run(snapshot, "", "python3 -m pytest -q")
    await runner.run(snapshot, "", "python3 -m pytest -q tests")
    assert held == [1, 1] and budget.spent.sandbox_runs == 2 and budget.held.sandbox_runs == 0
    assert (await runner.run(snapshot, "", "python3 -m pytest -q")).cached
    with pytest.raises(BudgetExhausted, match="sandbox runs"):
        await runner.run(snapshot, "", "python3 -m pytest -q tests/test_core.py")
    assert len(inner.runs) == 2 and budget.spent.sandbox_runs == 2


async def test_the_repo_tests_verifier_is_admitted_by_a_metered_local_sandbox(tmp_path):
    """The real thing: a local tree run through the metered sandbox; one run allowed."""
    from ponder.budget import Budget
    from ponder.errors import BudgetExhausted
    from ponder.sandbox import open_sandbox
    from ponder.search.metered import Meter
    from ponder.verifiers.repo_tests import RepoTestsVerifier

    task = load_scenario(SCENARIOS / "offbyone_pagination")
    budget = Budget(max_sandbox_runs=1)
    async with open_sandbox("local") as sandbox:
        verifier = RepoTestsVerifier(Meter(budget).sandbox(sandbox), budget)
        verifier.runner = RepoRunner(verifier.sandbox, budget, timeout_s=120, cache=False)
        fixed = await verifier.report(task.visible, task.hidden.reference_solution or "")
        assert fixed.resolved, (fixed.problems, fixed.output[-1500:])
        assert budget.spent.sandbox_runs == 1
        with pytest.raises(BudgetExhausted):
            await verifier.report(task.visible, "")
    assert budget.spent.sandbox_runs == 1


def test_failure_excerpt_keeps_the_failure_section_head_else_the_output_tail():
    section = (
        "=== FAILURES ===\n" + "first failure line\n" + "x\n" * 2000 + "= short test summary info ="
    )
    assert failure_excerpt(section, limit=100).startswith("first failure line")
    crash = "collected 3 items\n" + "noise\n" * 2000 + "Fatal Python error: Segmentation fault"
    excerpt = failure_excerpt(crash, limit=100)
    assert excerpt.endswith("Segmentation fault") and "collected 3 items" not in excerpt
