"""The judge on the host's local runner (no Docker): verdict logic, report parsing, `split_tests`.

Isolation itself (non-dumpable judge, no shared files) is shown against Docker in
test_redteam_harness.py; these cases check that the judge, not the solution, decides.
"""

from __future__ import annotations

import asyncio

import pytest

from ponder.sandbox import ExecResult, Limits
from ponder.sandbox.local import run_once
from ponder.testrun import judge_job, parse_report, split_tests
from tests.sandbox.redteam_cases import HONEST, HOSTILE, Case

LOCAL_UNSAFE = {"kills_everything"}  # kill(-1) on the host would hit every process of this user
LIMITS = Limits(timeout_s=10, cpu_s=10)


def judged(case: Case, per_test_s: float = 3.0):
    job, nonce = judge_job(
        case.solution,
        case.tests,
        LIMITS,
        per_test_s,
        helpers=case.helpers,
        entry_point=case.entry_point,
    )
    return parse_report(run_once(job), case.tests, nonce)


@pytest.mark.parametrize("name", sorted(set(HOSTILE) - LOCAL_UNSAFE))
def test_hostile_solution_fails_locally(name: str) -> None:
    run = judged(HOSTILE[name])
    assert run.passed == 0 and run.total == len(HOSTILE[name].tests), run.to_dict()


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_solution_passes_locally(name: str) -> None:
    run = judged(HONEST[name])
    assert run.all_passed, run.feedback()


def test_failure_feedback_names_the_test_and_the_solution_line() -> None:
    case = Case("def add(a, b):\n    return a - b\n")
    run = judged(case)
    text = run.feedback()
    assert "failed test 1: assert add(1, 2) == 3" in text and "AssertionError" in text
    crash = judged(Case("def add(a, b):\n    return [][a]\n"))
    assert "IndexError" in crash.feedback() and "solution.py" in crash.feedback()


@pytest.mark.parametrize(
    "report",
    [
        "",
        "garbage\n",
        '{"nonce": "not-this-job"}\n{"load": null}\n{"test": 0, "passed": true, "error": null}\n',
        "[1, 2]\n",
    ],
)
def test_missing_or_forged_reports_fail_every_test(report: str) -> None:
    result = ExecResult(status="ok", exit_code=0, report=report, stdout='{"test": 0}')
    run = parse_report(result, ["assert True\n", "assert True\n"], nonce="abc")
    assert run.passed == 0 and run.total == 2 and run.load_error


@pytest.mark.parametrize(
    "record",
    [
        '{"test": 0, "passed": "yes", "error": null}',
        '{"test": 0, "passed": true, "error": {"type": "X"}}',
        '{"test": "0", "passed": true, "error": null}',
        '{"test": 7, "passed": true, "error": null}',
        '{"test": 0, "passed": true',
        '{"load": {"type": 3, "message": null}}',
        '{"load": 5}',
    ],
)
def test_malformed_records_never_pass_and_never_raise(record: str) -> None:
    report = '{"nonce": "abc"}\n{"load": null}\n' + record + "\n"
    run = parse_report(ExecResult(status="ok", report=report), ["assert True\n"], nonce="abc")
    assert run.passed == 0


def test_split_tests_asserts_and_test_functions() -> None:
    source = (
        "import math\n"
        "assert math.pi > 3\n"
        "def helper(x):\n    return x\n"
        "def test_one():\n    assert helper(1) == 1\n"
        "assert helper(2) == 2\n"
        "def test_needs_fixture(tmp_path):\n    pass\n"
        "print('tail')\n"
    )
    parts = split_tests(source)
    assert len(parts) == 4
    assert parts[0] == "import math\nassert math.pi > 3\n"
    assert parts[1].endswith("def test_one():\n    assert helper(1) == 1\ntest_one()\n")
    assert parts[2] == "assert helper(2) == 2\n"
    assert "tail" in parts[3] and "test_needs_fixture()" not in parts[3]


def test_the_tests_verifier_and_grading_use_the_judge(sandbox_recorder) -> None:
    from ponder.task import HiddenPart, Task, VisibleTask, grade
    from ponder.verifiers.base import Candidate
    from ponder.verifiers.tests import TestsVerifier

    visible = VisibleTask(
        id="t", kind="code", prompt="def add(a, b):\n    pass\n", entry_point="add",
        public_tests=["assert add(1, 2) == 3\n"],
    )  # fmt: skip
    task = Task(visible=visible, hidden=HiddenPart(hidden_tests=["assert add(2, 2) == 4\n"]))
    cheat = (
        "class Y:\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return Y()\n"
    )

    async def go():
        verdicts = await TestsVerifier(sandbox_recorder).verify(
            visible, [Candidate(text=cheat), Candidate(text="def add(a, b):\n    return a + b\n")]
        )
        graded = await grade(task, cheat, sandbox_recorder)
        return verdicts, graded

    verdicts, graded = asyncio.run(go())
    assert [v.passed for v in verdicts] == [False, True]
    assert not graded.correct
    jobs = sandbox_recorder.jobs
    assert len(jobs) == 3 and all(job.judge for job in jobs)
    # the tests travel only in the secret part, which the runner hands to the judge alone
    assert [("add(2, 2)" in job.secret) for job in jobs] == [False, False, True]
    assert not any("add(2, 2)" in job.model_dump_json(exclude={"secret"}) for job in jobs)


@pytest.fixture
def sandbox_recorder():
    from ponder.sandbox.base import Job, Sandbox

    class Recorder(Sandbox):
        isolated = False

        def __init__(self) -> None:
            self.jobs: list[Job] = []

        async def run(self, job: Job) -> ExecResult:
            self.jobs.append(job)
            return await asyncio.to_thread(run_once, job)

    return Recorder()
