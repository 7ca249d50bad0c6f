"""The code kind: a candidate is a program; its steps are the plan thoughts it was written from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ponder.agents.base import Draft
from ponder.agents.parsing import extract_code
from ponder.kinds.base import FROM_SCRATCH, Kind, Origin, draft_from

if TYPE_CHECKING:
    from ponder.sandbox.base import Sandbox
    from ponder.task import Grade, Task, VisibleTask

TEMPLATES = Path(__file__).parent / "templates"


class CodeKind(Kind):
    name = "code"
    default_verifiers = ("tests",)
    templates = TEMPLATES / "code"
    # mcts simulates a thought by a sampled program: a small model's greedy program mostly
    # ignores the plan, so greedy rollouts repeat one behaviour (measured on HumanEval/0-18,
    # README "HumanEval search study"). The direct answer at the root stays greedy.
    strategy_defaults = {"mcts": {"rollout": "sample"}}

    def parse_candidate(
        self,
        text: str,
        task: VisibleTask,
        plan: list[str],
        tokens: int = 0,
        origin: Origin = FROM_SCRATCH,
    ) -> Draft:
        entry_point = getattr(task, "entry_point", None) or None
        return draft_from(text, list(plan), tokens, lambda t: extract_code(t, entry_point))

    def candidate_text(self, draft: Draft) -> str:
        return draft.answer if draft.ok and draft.answer else draft.text

    async def grade(self, task: Task, solution: str, sandbox: Sandbox | None) -> Grade:
        from ponder.errors import ConfigError
        from ponder.sandbox.base import Limits
        from ponder.task import Grade
        from ponder.testrun import run_tests

        tests = task.hidden.hidden_tests
        if not tests:
            return Grade(
                correct=False, graded=False, details={"reason": "the task has no hidden tests"}
            )
        if sandbox is None:
            raise ConfigError(
                f"grading code task {task.id} needs a sandbox", fix="pass sandbox=open_sandbox(...)"
            )
        limits = Limits(timeout_s=min(120.0, 10.0 + len(tests)))
        run = await run_tests(
            sandbox,
            solution,
            tests,
            limits=limits,
            helpers=task.visible.prompt,
            entry_point=task.visible.entry_point,
        )
        return Grade(correct=run.all_passed, details=run.to_dict() | {"feedback": run.feedback()})
