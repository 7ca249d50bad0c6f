"""Test doubles for the bench: a tiny math scenario and a scripted cell executor (tests only)."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.executor import CellRun, CellSpec, Draw, PoolDraw
from ponder.budget import Spend
from ponder.errors import SandboxError
from ponder.scenarios.base import Scenario
from ponder.task import Grade, HiddenPart, Task, VisibleTask


class TinyMath(Scenario):
    """n arithmetic tasks `tiny/i`: what is i + i? (graded by math-verify)."""

    name = "tinymath"

    def __init__(self, source: str | None = None, n: int = 4) -> None:
        super().__init__(source)
        self.n = n

    def load(self) -> list[Task]:
        return [
            Task(visible=VisibleTask(id=f"tiny/{i}", kind="math", prompt=f"What is {i} + {i}?"),
                 hidden=HiddenPart(reference_answer=str(2 * i)))
            for i in range(self.n)
        ]  # fmt: skip


class ScriptedExecutor:
    """Answers cells without a model: correct when budget >= the task's difficulty.

    Task `tiny/i` needs budget >= i (greedy is right on tiny/0 and tiny/1 only). Pools hold
    n samples of which the first `i % 3` are wrong. `fail_after` raises RuntimeError on that
    call (a crash mid-bench); `ponder_error_on` names cells that raise a PonderError.
    """

    def __init__(
        self,
        delay: float = 0.0,
        fail_after: int | None = None,
        ponder_error_on: set[tuple[str, str, int]] | None = None,
    ) -> None:
        self.delay, self.fail_after = delay, fail_after
        self.ponder_error_on = ponder_error_on or set()
        self.calls: list[tuple[str, str, int | None]] = []
        self.pools: list[tuple[str, int]] = []

    @staticmethod
    def _difficulty(task: Task) -> int:
        return int(task.id.split("/")[1])

    def _tick(self) -> None:
        if self.fail_after is not None and len(self.calls) + len(self.pools) > self.fail_after:
            raise RuntimeError("injected crash")

    async def run(self, cell: CellSpec) -> CellRun:
        task, strategy, budget_tokens = cell.task, cell.strategy, cell.budget_tokens
        budget = 1 if budget_tokens is None else budget_tokens // 40
        self.calls.append((task.id, strategy, budget_tokens))
        self._tick()
        await asyncio.sleep(self.delay)
        if (task.id, strategy, budget) in self.ponder_error_on:
            raise SandboxError("injected sandbox failure", fix="none")
        correct = budget >= self._difficulty(task)
        tokens = 40 if budget_tokens is None else min(budget_tokens, 35 * budget)
        spent = Spend(prompt_tokens=10, completion_tokens=tokens, llm_calls=1, sandbox_runs=0)
        return CellRun(solution=str(2 * self._difficulty(task)) if correct else "-1",
                       grade=Grade(correct=correct, details={"fake": True}), spent=spent,
                       wall_s=0.01)  # fmt: skip

    async def draw_pool(self, task: Task, n: int, seed: int, run_dir: Path) -> PoolDraw:
        self.pools.append((task.id, n))
        self._tick()
        await asyncio.sleep(self.delay)
        wrong = self._difficulty(task) % 3
        draws = [Draw(answer="-1" if i < wrong else str(2 * self._difficulty(task)),
                      score=0.0, completion_tokens=30) for i in range(n)]  # fmt: skip
        return PoolDraw(
            draws, Spend(prompt_tokens=10, completion_tokens=30 * n, llm_calls=1), wall_s=0.02
        )


def counts(calls: list) -> Counter:
    return Counter(calls)


@asynccontextmanager
async def gold_math_components(config: BenchConfig, needs_sandbox: bool):
    """Ray-worker parts for tests: a ScriptedLLM that answers each GSM8K question correctly.

    (It reads the gold answers from the data itself: a test double, never a model.)
    """
    from ponder.llm.client import ModelClient
    from ponder.llm.scripted import ScriptedLLM
    from ponder.scenarios import get_scenario

    gold = {t.visible.prompt: t.hidden.reference_answer for t in get_scenario("gsm8k").load()[:5]}

    def reply(messages, params):
        text = messages[-1]["content"]
        answer = next((a for q, a in gold.items() if q in text), "0")
        return [f"Adding it up gives {answer}. The answer is \\boxed{{{answer}}}."]

    yield ModelClient(ScriptedLLM(reply)), None
