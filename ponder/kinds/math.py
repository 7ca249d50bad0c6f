"""The math kind: a candidate is a final answer in prose, or (program-aided, PAL) a program
whose printed value is the answer, run in the sandbox; grading compares with math-verify."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.parsing import (
    extract_math_answer,
    extract_math_program,
    find_program,
    parse_code_step,
    split_steps,
)
from ponder.kinds.answers import answers_equivalent, extract_answer
from ponder.kinds.base import FROM_SCRATCH, Kind, Origin, draft_from

if TYPE_CHECKING:
    from ponder.sandbox.base import Sandbox
    from ponder.task import Grade, Task, VisibleTask

TEMPLATES = Path(__file__).parent / "templates"


class MathKind(Kind):
    """Prose math: the steps are the solution's lines (what a PRM or judge scores)."""

    name = "math"
    default_verifiers = ("majority",)
    templates = TEMPLATES / "math"

    def variant(self, settings: AgentSettings) -> Kind:
        return PAL_MATH if settings.program_aided() else self

    def needs_sandbox(self, settings: AgentSettings) -> bool:
        return settings.math_mode != "prose"

    def parse_candidate(
        self,
        text: str,
        task: VisibleTask,
        plan: list[str],
        tokens: int = 0,
        origin: Origin = FROM_SCRATCH,
    ) -> Draft:
        return draft_from(text, split_steps(text), tokens, extract_math_answer)

    async def grade(self, task: Task, solution: str, sandbox: Sandbox | None) -> Grade:
        from ponder.errors import ConfigError
        from ponder.task import Grade
        from ponder.verifiers.programs import ProgramRunner, program_of

        gold = task.hidden.reference_answer
        if gold is None:
            return Grade(correct=False, graded=False, details={"reason": "the task has no answer"})
        program = program_of(solution)
        if program is None:
            predicted = extract_answer(solution) or solution
            correct = answers_equivalent(gold, predicted)
            return Grade(correct=correct, details={"predicted": predicted, "method": "math-verify"})
        # A program-aided answer: what the program prints is the answer.
        if sandbox is None:
            raise ConfigError(
                f"grading the program-aided answer of math task {task.id} needs a sandbox",
                fix="pass sandbox=open_sandbox(...)",
            )
        run = await ProgramRunner(sandbox).run(program)
        correct = run.answer is not None and answers_equivalent(gold, run.answer)
        details = {"predicted": run.answer, "method": "math-verify", "program": True}
        return Grade(
            correct=correct, details=details | {"status": run.status, "run": run.feedback()}
        )


class ProgramAidedMath(MathKind):
    """Program-aided math (PAL / program of thought): the prompts ask for a program, and each
    reply is a program when it holds one (its steps are its code chunks), else prose. Thoughts
    are code-augmented steps: a comment and a few lines of Python, run by `executes`."""

    prefix = "pal_"
    # Tree searches score each code step by whether it runs (`executes`): a signal from the
    # sandbox, not from the model judging itself. A run's own options override these.
    strategy_defaults = {
        "mcts": {"step_scorer": "executes"},
        "beam": {"scorer": "executes"},
        "dvts": {"scorer": "executes"},
    }

    def variant(self, settings: AgentSettings) -> Kind:
        return self

    def parse_thought(self, text: str) -> str:
        return parse_code_step(text)

    def parse_candidate(
        self,
        text: str,
        task: VisibleTask,
        plan: list[str],
        tokens: int = 0,
        origin: Origin = FROM_SCRATCH,
    ) -> Draft:
        from ponder.verifiers.programs import program_steps

        program = find_program(text)
        steps = program_steps(program) if program else split_steps(text)
        return draft_from(text, steps, tokens, extract_math_program)


MATH = MathKind()
PAL_MATH = ProgramAidedMath()
