"""Every repair scenario is well formed and solvable: FAIL_TO_PASS fails and PASS_TO_PASS
passes before the reference patch; after it, both pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ponder.errors import ConfigError
from ponder.repair.patches import make_patch
from ponder.repair.task import load_scenario, load_scenarios
from ponder.repair.testing import RepoRunner, run_and_score
from ponder.repair.workspace import RepoSnapshot
from ponder.task import Task
from tests.repair.conftest import SCENARIO_NAMES, SCENARIOS

if TYPE_CHECKING:  # not at run time: pytest would try to collect a Test* class
    from ponder.repair.testing import TestReport


async def score_patch(runner: RepoRunner, task: Task, patch: str) -> TestReport:
    """The scenario's visible tests on its repository with `patch` applied, scored by its
    visible test ids."""
    repository = task.visible.repository
    return await run_and_score(
        runner,
        RepoSnapshot(repository.dir),
        patch,
        repository.test_cmd,
        repository.fail_to_pass,
        repository.pass_to_pass,
    )


def test_at_least_ten_scenarios_with_the_required_bug_kinds():
    tasks = load_scenarios(SCENARIOS)
    assert len(tasks) >= 10
    assert all(t.kind == "repair" and t.visible.prompt.strip() for t in tasks)
    kinds = {t.visible.metadata["bug_kind"] for t in tasks}
    for needed in (
        "off-by-one",
        "wrong condition",
        "missing edge case",
        "wrong library call",
        "fix spans two files",
        "failing test far from the cause",
    ):
        assert needed in kinds


@pytest.mark.parametrize("name", SCENARIO_NAMES)
async def test_reference_patch_solves_scenario(name, runner):
    task = load_scenario(SCENARIOS / name)
    repository = task.visible.repository
    assert repository.fail_to_pass and repository.pass_to_pass
    assert task.hidden.reference_solution
    before = await score_patch(runner, task, "")
    assert before.f2p_failed == repository.fail_to_pass, before.output[-2000:]
    assert before.p2p_broken == [], before.output[-2000:]
    assert not before.resolved
    after = await score_patch(runner, task, task.hidden.reference_solution)
    assert after.resolved, after.output[-2000:]
    assert after.f2p_passed == repository.fail_to_pass
    assert after.exit_code == 0


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_agent_view_holds_no_reference(name):
    task = load_scenario(SCENARIOS / name)
    dumped = task.view().model_dump_json()
    assert "reference" not in dumped.lower() or "reference.patch" not in dumped
    assert task.hidden.reference_solution and task.hidden.reference_solution not in dumped
    files = RepoSnapshot(task.visible.repository.dir).files()
    assert not any(f.endswith(".patch") for f in files)


@pytest.mark.docker
@pytest.mark.parametrize("name", SCENARIO_NAMES)
async def test_reference_patch_in_a_docker_repo_job(name, docker_runner):
    """The same check through the docker sandbox's tree runs: a fresh container per run."""
    task = load_scenario(SCENARIOS / name)
    runner = docker_runner
    before = await score_patch(runner, task, "")
    assert before.f2p_failed == task.visible.repository.fail_to_pass, before.output[-2000:]
    assert before.p2p_broken == []
    after = await score_patch(runner, task, task.hidden.reference_solution)
    assert after.resolved, after.output[-2000:]


@pytest.mark.parametrize("name", SCENARIO_NAMES)
async def test_hidden_tests_fail_the_bug_and_pass_the_reference(name, runner):
    """Every scenario has hidden tests; each fails on the planted bug and passes once fixed."""
    from ponder.repair.grading import grade

    task = load_scenario(SCENARIOS / name)
    hidden, repository = task.hidden, task.visible.repository
    extra = [t for t in hidden.hidden_fail_to_pass if t not in repository.fail_to_pass]
    assert hidden.test_patch and len(extra) >= 2
    assert hidden.hidden_fail_to_pass[: len(repository.fail_to_pass)] == repository.fail_to_pass
    assert hidden.hidden_pass_to_pass == repository.pass_to_pass
    snapshot = RepoSnapshot(repository.dir)

    async def graded(patch: str):
        return await grade(
            runner,
            snapshot,
            patch,
            repository.test_cmd,
            hidden.hidden_fail_to_pass,
            hidden.hidden_pass_to_pass,
            test_patch=hidden.test_patch,
            protected=repository.protected_files(),
        )

    before = await graded("")
    assert not before.resolved
    assert all(before.outcomes[t] != "passed" for t in extra), before.outcomes
    after = await graded(hidden.reference_solution or "")
    assert after.resolved, (after.problems, after.outcomes, after.output[-1500:])
    assert all(after.outcomes[t] == "passed" for t in extra)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_agents_never_see_the_hidden_tests(name):
    task = load_scenario(SCENARIOS / name)
    files = RepoSnapshot(task.visible.repository.dir).files()
    assert not any("hidden" in f for f in files)
    dumped = task.view().model_dump_json()
    assert "test_hidden" not in dumped and task.hidden.test_patch not in dumped
    hidden_only = set(task.hidden.hidden_fail_to_pass) - set(task.visible.repository.fail_to_pass)
    assert hidden_only and not any(t in dumped for t in hidden_only)


async def test_repair_kind_grades_on_the_hidden_part(runner):
    """`ponder.task.grade` (the repair kind's `grade_patch`): the reference resolves the hidden
    tests, the unfixed repository and a visible-only hack do not."""
    from ponder.repair.grading import final_patch
    from ponder.task import grade

    task = load_scenario(SCENARIOS / "offbyone_pagination")
    reference = task.hidden.reference_solution or ""
    assert final_patch(task, reference) == reference  # no setup patch to take out
    local = runner.sandbox  # the local sandbox: grading runs the tests in a temp copy
    good = await grade(task, reference, local)
    assert good.correct and good.graded and good.details["hidden_tests"]
    assert good.details["value"] == 1.0 and set(good.details["outcomes"]) == set(
        task.hidden.hidden_fail_to_pass + task.hidden.hidden_pass_to_pass
    )
    unfixed = await grade(task, "", local)
    assert not unfixed.correct and unfixed.details["f2p_failed"]
    snapshot = RepoSnapshot(task.visible.repository.dir)
    core = snapshot.read("pager/core.py") or ""
    hack = core.replace(
        "    end = start + per_page - 1\n",
        "    end = start + per_page - (0 if per_page == 3 or page == 2 else 1)\n",
    )
    assert hack != core
    visible_only = make_patch(snapshot, {"pager/core.py": hack})
    assert (await score_patch(runner, task, visible_only)).resolved
    hacked = await grade(task, visible_only, local)
    assert not hacked.correct and hacked.details["f2p_failed"]
    with pytest.raises(ConfigError, match="need a sandbox"):
        await grade(task, reference, None)
