"""The `executes` verifier: a math candidate's program (or a path's code steps) must run.

An execution signal for math search that is not the model judging itself (rStar-Math's
code-augmented steps): a program-aided candidate scores 1 when its program runs and prints
an answer that parses, else 0; a partial path of code steps (what beam, dvts and mcts's
`step_scorer` send) scores 1 when its code runs so far. Step scores are 1 up to the step
whose code failed and 0 from there. A prose candidate has nothing to run: 0.5, unknown.
`passed` is None: a program that runs can still compute the wrong thing.
"""

from __future__ import annotations

import asyncio

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.sandbox.base import Sandbox
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.programs import (
    is_code,
    program_of,
    program_steps,
    runner_for,
    step_scores_for,
)
from ponder.verifiers.registry import register_verifier


@register_verifier("executes")
class ExecutesVerifier:
    """Score = the program ran (and, for a whole candidate, printed an answer)."""

    name = "executes"

    def __init__(self, sandbox: Sandbox, budget: Budget | None = None) -> None:
        self.runner = runner_for(sandbox, budget)

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        if task.kind != "math":
            raise ConfigError(
                f"the executes verifier runs math programs, but task {task.id} is {task.kind!r}",
                fix="use the tests verifier for code tasks",
            )
        return list(await asyncio.gather(*(self._one(c) for c in candidates)))

    async def _one(self, candidate: Candidate) -> Verdict:
        program = program_of(candidate.answer) or program_of(candidate.text)
        if program is not None:
            return await self._judge(program_steps(program), need_answer=True)
        if candidate.answer is None and candidate.steps and all(map(is_code, candidate.steps)):
            return await self._judge(list(candidate.steps), need_answer=False)
        return Verdict.unknown("a prose answer: nothing to execute", program=False)

    async def _judge(self, steps: list[str], need_answer: bool) -> Verdict:
        run = await self.runner.run("\n".join(steps))
        if run.sandbox_error:
            return Verdict.unknown(run.feedback(), program=True)
        scores = step_scores_for(steps, run, need_answer)
        ok = run.ran and (run.answer is not None or not need_answer)
        return Verdict(
            score=1.0 if ok else 0.0,
            step_scores=scores,
            feedback=run.feedback(),
            details={
                "program": True,
                "status": run.status,
                "answer": run.answer,
                "error_line": run.error_line,
            },
        )
