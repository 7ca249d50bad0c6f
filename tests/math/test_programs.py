"""Program-aided math pieces: finding programs, parsing printed answers, steps, executes, grading."""

from __future__ import annotations

import pytest

from ponder.agents.base import AgentSettings
from ponder.agents.parsing import parse_code_step
from ponder.errors import ConfigError
from ponder.kinds import kind_for
from ponder.kinds.math import PAL_MATH
from ponder.sandbox.base import ExecResult, Job, Sandbox
from ponder.task import TaskRecord, grade
from ponder.verifiers import get_verifier
from ponder.verifiers.base import Candidate
from ponder.verifiers.programs import (
    ProgramRun,
    fence,
    parse_printed,
    program_of,
    program_steps,
    step_scores_for,
)
from tests.math.scripted import CRASH, PROSE, RIGHT, SILENT, WRONG
from tests.search.scripted import math_task

MATH = math_task().view()


class CountingSandbox(Sandbox):
    """Delegates to a real sandbox and counts the jobs."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.jobs: list[Job] = []

    async def run(self, job: Job) -> ExecResult:
        self.jobs.append(job)
        return await self.inner.run(job)


@pytest.mark.parametrize(
    ("printed", "answer"),
    [
        ("42\n", "42"),
        ("working...\n\n42\n\n", "42"),  # the last non-empty line
        ("1,234\n", "1234"),
        ("$18.50\n", "18.50"),
        ("18 dollars\n", "18"),
        ("The answer is 7\n", "7"),
        ("\\boxed{\\frac{3}{4}}\n", "\\frac{3}{4}"),
        ("3/4\n", "3/4"),
        ("Total: 18\n", "18"),
        ("x = 5, y = 3\n", "x = 5, y = 3"),  # two values: left as printed
        ("", None),
        ("  \n\n", None),
    ],
)
def test_parse_printed(printed, answer):
    assert parse_printed(printed) == answer


def test_program_of_tells_programs_from_answers():
    assert program_of(RIGHT) and "print(total)" in program_of(RIGHT)
    assert program_of(PROSE) is None
    assert program_of("```\n42\n```") is None  # a fenced value is an answer, not a program
    assert program_of("```\nx = 6 * 7\nprint(x)\n```") == "x = 6 * 7\nprint(x)"
    assert program_of(fence("print(1)")) == "print(1)"


def test_the_kind_decides_per_candidate_under_pal():
    pal = AgentSettings(math_mode="pal")
    assert kind_for(MATH, pal) is PAL_MATH
    assert kind_for(MATH, AgentSettings(math_mode="auto")).prefix == ""  # unresolved: prose
    program = PAL_MATH.parse_candidate(RIGHT, MATH, [])
    assert program.ok and program_of(program.answer) is not None
    assert program.steps == [
        "# the two numbers\na = 20\nb = 22",
        "# their sum\ntotal = a + b\nprint(total)",
    ]
    prose = PAL_MATH.parse_candidate(PROSE, MATH, [])
    assert prose.answer == "42" and program_of(prose.answer) is None


def test_code_steps_parse_with_or_without_fences():
    assert parse_code_step("```python\n# a\nx = 1\n```\nmore text") == "# a\nx = 1"
    assert parse_code_step("x = 3 * 4\nThat is the step.") == "x = 3 * 4"
    assert parse_code_step("1. Add the two numbers.") == "# Add the two numbers."


def test_settings_resolve_auto_by_the_sandbox():
    auto = AgentSettings()
    assert auto.resolved(has_sandbox=True).math_mode == "pal"
    assert auto.resolved(has_sandbox=False).math_mode == "prose"
    assert AgentSettings(math_mode="prose").resolved(has_sandbox=True).math_mode == "prose"


def test_step_scores_fail_from_the_step_whose_code_failed():
    steps = program_steps("# a\nx = 1\n# b\ny = x / 0\n# c\nprint(y)")
    assert len(steps) == 3
    crashed = ProgramRun("error", "", "ZeroDivisionError", None, error_line=4)
    assert step_scores_for(steps, crashed, need_answer=True) == [1.0, 0.0, 0.0]
    silent = ProgramRun("ok", "", "", None, None)
    assert step_scores_for(steps, silent, need_answer=True) == [1.0, 1.0, 0.0]
    assert step_scores_for(steps, silent, need_answer=False) == [1.0, 1.0, 1.0]


def _candidate(reply: str) -> Candidate:
    draft = PAL_MATH.parse_candidate(reply, MATH, [])
    return Candidate(text=reply, steps=draft.steps, answer=draft.answer)


async def test_executes_scores_what_ran(local_sandbox):
    sandbox = CountingSandbox(local_sandbox)
    verifier = get_verifier("executes", sandbox=sandbox)
    right, wrong, crash, silent, prose = await verifier.verify(
        MATH, [_candidate(r) for r in (RIGHT, WRONG, CRASH, SILENT, PROSE)]
    )
    assert right.score == 1.0 and right.details["answer"] == "42"
    assert wrong.score == 1.0 and wrong.details["answer"] == "43"  # ran: execution is no proof
    assert crash.score == 0.0 and crash.step_scores == [1.0, 0.0]
    assert "ZeroDivisionError" in crash.feedback and crash.details["error_line"] == 4
    assert silent.score == 0.0 and "printed nothing" in silent.feedback
    assert prose.score == 0.5 and prose.passed is None
    assert all(v.passed is None for v in (right, wrong, crash, silent))
    assert len(sandbox.jobs) == 4 and all(job.code for job in sandbox.jobs)
    # A partial path of code steps (what beam and mcts's step scorer send) runs as one program.
    path = ["# a\na, b = 20, 22", "# b\nc = a / 0"]
    (partial,) = await verifier.verify(MATH, [Candidate(text="\n".join(path), steps=path)])
    assert partial.score == 0.0 and partial.step_scores == [1.0, 0.0]
    # Programs run once per sandbox: verifying again costs no job.
    await verifier.verify(MATH, [_candidate(RIGHT)])
    assert len(sandbox.jobs) == 5


async def test_executes_needs_a_sandbox_and_a_math_task():
    with pytest.raises(ConfigError, match="needs sandbox"):
        get_verifier("executes")


async def test_math_grader_runs_a_program_aided_answer(local_sandbox):
    task = TaskRecord(kind="math", id="t", prompt="20 + 22?", answer="42").to_task()
    right = await grade(task, fence("print(20 + 22)"), local_sandbox)
    assert right.correct and right.details["predicted"] == "42" and right.details["program"]
    wrong = await grade(task, fence("print(20 + 23)"), local_sandbox)
    assert not wrong.correct and wrong.details["predicted"] == "43"
    crash = await grade(task, fence("print(1 / 0)"), local_sandbox)
    assert not crash.correct and crash.details["predicted"] is None
    assert (await grade(task, "42")).correct  # a prose answer needs no sandbox
    with pytest.raises(ConfigError, match="needs a sandbox"):
        await grade(task, fence("print(42)"))


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_the_sandbox_image_offers_sympy_for_exact_math(docker_sandbox):
    # MATH-style answers are fractions, roots and expressions; PAL programs compute them with
    # sympy, so the image ships it (a program importing it failed there before).
    task = TaskRecord(kind="math", id="t", prompt="1/3 + 1/6?", answer="\\frac{1}{2}").to_task()
    program = fence("from sympy import Rational\nprint(Rational(1, 3) + Rational(1, 6))")
    verdict = await grade(task, program, docker_sandbox)
    assert verdict.correct and verdict.details["predicted"] == "1/2"


def test_a_code_step_cut_off_by_the_token_cap_keeps_its_whole_lines():
    # The model began the whole program in a block and the thought's token cap stopped it
    # mid-expression: the lines before the cut are the step, not a failed thought.
    cut = "```python\nimport math\n\n# the two points\np = (2, -6)\nq = (-4, 3)\nd = math.sqrt((q[0] - p"
    assert parse_code_step(cut) == "import math\n\n# the two points\np = (2, -6)\nq = (-4, 3)"
    # A last line that parses may still be cut (`x = 12` of `x = 125`): it is dropped too.
    assert parse_code_step("```python\n# total\nx = 12") == "# total"
    # A closed block keeps every line.
    assert parse_code_step("```python\n# total\nx = 12\n```") == "# total\nx = 12"


def test_a_step_passes_over_lines_that_say_nothing():
    # A LaTeX display opens on a line of its own: the step is its content, not "\[".
    assert parse_code_step("\\[\nd = \\sqrt{36 + 81}\n\\]") == "# d = \\sqrt{36 + 81}"
    assert parse_code_step("**\nSubtract the costs.") == "# Subtract the costs."
    # Only a preamble before a display the cap cut off: the preamble is the step's comment.
    cut_display = "We use the distance formula, which is:\n\n\\"
    assert parse_code_step(cut_display) == "# We use the distance formula, which is:"
