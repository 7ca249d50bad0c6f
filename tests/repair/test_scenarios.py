"""Every repair scenario is well formed and solvable: FAIL_TO_PASS fails and PASS_TO_PASS
passes before the reference patch; after it, both pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ponder.repair.task import RepairTask, load_scenario, load_scenarios
from ponder.repair.testing import RepoRunner, run_and_score
from ponder.repair.workspace import RepoSnapshot
from tests.repair.conftest import SCENARIO_NAMES, SCENARIOS

if TYPE_CHECKING:  # not at run time: pytest would try to collect a Test* class
    from ponder.repair.testing import TestReport


async def score_patch(runner: RepoRunner, task: RepairTask, patch: str) -> TestReport:
    """The scenario's tests on its repository with `patch` applied, scored by its test ids."""
    spec = task.spec
    return await run_and_score(
        runner,
        RepoSnapshot(spec.repo_dir),
        patch,
        spec.test_cmd,
        spec.fail_to_pass,
        spec.pass_to_pass,
    )


def test_at_least_ten_scenarios_with_the_required_bug_kinds():
    tasks = load_scenarios(SCENARIOS)
    assert len(tasks) >= 10
    kinds = {t.spec.metadata["bug_kind"] for t in tasks}
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
    spec = task.spec
    assert spec.fail_to_pass and spec.pass_to_pass
    assert task.hidden.reference_patch
    before = await score_patch(runner, task, "")
    assert before.f2p_failed == spec.fail_to_pass, before.output[-2000:]
    assert before.p2p_broken == [], before.output[-2000:]
    assert not before.resolved
    after = await score_patch(runner, task, task.hidden.reference_patch)
    assert after.resolved, after.output[-2000:]
    assert after.f2p_passed == spec.fail_to_pass
    assert after.exit_code == 0


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_agent_view_holds_no_reference(name):
    task = load_scenario(SCENARIOS / name)
    dumped = task.view().model_dump_json()
    assert "reference" not in dumped.lower() or "reference.patch" not in dumped
    assert task.hidden.reference_patch not in dumped
    files = RepoSnapshot(task.spec.repo_dir).files()
    assert not any(f.endswith(".patch") for f in files)


@pytest.mark.docker
@pytest.mark.parametrize("name", SCENARIO_NAMES)
async def test_reference_patch_in_a_docker_repo_job(name):
    """The same check through the real repository job: a fresh container per run."""
    from ponder.repair.testing import DockerRepoRunner

    task = load_scenario(SCENARIOS / name)
    runner = DockerRepoRunner(timeout_s=120)
    before = await score_patch(runner, task, "")
    assert before.f2p_failed == task.spec.fail_to_pass, before.output[-2000:]
    assert before.p2p_broken == []
    after = await score_patch(runner, task, task.hidden.reference_patch)
    assert after.resolved, after.output[-2000:]


@pytest.mark.parametrize("name", SCENARIO_NAMES)
async def test_hidden_tests_fail_the_bug_and_pass_the_reference(name, runner):
    """Every scenario has hidden tests; each fails on the planted bug and passes once fixed."""
    from ponder.repair.grading import grade

    task = load_scenario(SCENARIOS / name)
    hidden = task.hidden
    extra = [t for t in hidden.fail_to_pass if t not in task.spec.fail_to_pass]
    assert hidden.test_patch and len(extra) >= 2
    assert hidden.pass_to_pass == task.spec.pass_to_pass
    snapshot = RepoSnapshot(task.spec.repo_dir)

    async def graded(patch: str):
        return await grade(
            runner,
            snapshot,
            patch,
            task.spec.test_cmd,
            hidden.fail_to_pass,
            hidden.pass_to_pass,
            test_patch=hidden.test_patch,
            protected=task.spec.protected_files(),
        )

    before = await graded("")
    assert not before.resolved
    assert all(before.outcomes[t] != "passed" for t in extra), before.outcomes
    after = await graded(hidden.reference_patch or "")
    assert after.resolved, (after.problems, after.outcomes, after.output[-1500:])
    assert all(after.outcomes[t] == "passed" for t in extra)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_agents_never_see_the_hidden_tests(name):
    task = load_scenario(SCENARIOS / name)
    files = RepoSnapshot(task.spec.repo_dir).files()
    assert not any("hidden" in f for f in files)
    dumped = task.view().model_dump_json()
    assert "test_hidden" not in dumped and task.hidden.test_patch not in dumped
