"""How the bench runs one cell or draws one pool: through `ponder.runner.solve_task`."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, get_args

from ponder.agents.base import MathMode
from ponder.benchmark.config import pool_math_mode
from ponder.benchmark.scheduling import OldestTaskFirst
from ponder.budget import Spend
from ponder.config import BudgetConfig, RunConfig
from ponder.errors import ConfigError
from ponder.llm.base import LLM, Generation, Message, SamplingParams
from ponder.llm.client import ModelClient
from ponder.runner import RunResult, solve_task
from ponder.sandbox.base import Sandbox
from ponder.scenarios.base import Scenario
from ponder.task import Grade, Task
from ponder.tree import ThoughtTree
from ponder.verifiers.base import is_collective
from ponder.verifiers.composite import verdict_parts
from ponder.verifiers.programs import program_of


@dataclass(frozen=True)
class CellSpec:
    """One strategy run to make: a strategy with its options on a task, under a token limit."""

    task: Task
    strategy: str
    options: dict[str, Any]
    budget_tokens: int | None  # completion-token limit; None: no limit (the greedy unit run)
    seed: int
    run_dir: Path


@dataclass
class CellRun:
    """What one strategy run produced, graded on the hidden part after the search."""

    solution: str | None
    grade: Grade
    spent: Spend
    wall_s: float
    run_dir: str | None = None


@dataclass
class Draw:
    """One pool sample before grading: its answer and what the public-tests verifier said."""

    answer: str | None  # None: the output did not parse
    score: float
    completion_tokens: int
    behaviour: str | None = None  # what the generated tests saw, when the pool ran them
    matched: int = 0
    checked: int = 0
    public: tuple[bool, ...] = ()


@dataclass
class PoolDraw:
    """n samples drawn in one run, plus what drawing and verifying them cost."""

    draws: list[Draw]
    spent: Spend
    wall_s: float
    run_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CellExecutor(Protocol):
    """Runs cells and draws pools. The runtime one below; tests may pass their own."""

    async def run(self, cell: CellSpec) -> CellRun: ...

    async def draw_pool(self, task: Task, n: int, seed: int, run_dir: Path) -> PoolDraw: ...


class BoundedLLM(LLM):
    """A backend whose samples in flight are bounded by a shared gate (cache hits skip it)."""

    def __init__(self, inner: LLM, gate: OldestTaskFirst) -> None:
        self.inner, self.gate = inner, gate
        self.name, self.batches = inner.name, inner.batches

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        async with self.gate.hold(params.n):
            return await self.inner.generate(messages, params)

    async def aclose(self) -> None:
        await self.inner.aclose()


def bounded(client: ModelClient, gate: OldestTaskFirst) -> ModelClient:
    """The same model and cache, with the gate's capacity of samples in flight."""
    return ModelClient(BoundedLLM(client.llm, gate), client.cache)


def _spent(result: RunResult) -> Spend:
    data = result.budget.get("spent", {})
    return Spend(**{k: data[k] for k in Spend.__dataclass_fields__ if k in data})


def _voted(node: Any) -> str | None:
    """A sample's answer as the pool votes and grades it: a program-aided one is the value
    its program printed (None when it failed), as the majority verifier recorded it."""
    if program_of(node.answer) is None:
        return node.answer
    for verdict in node.verdicts.values():
        details = verdict.get("details") or {}
        if details.get("program"):
            return details.get("answer")
    return node.answer  # not executed during the draw: graded by running it


def _draw(node: Any, score_by: list[str]) -> Draw:
    """One pool sample: scored by the verifiers best_of_n picks by (their mean), plus what
    the generated tests saw when they ran."""
    parts = verdict_parts(node.verdicts)
    mine = [float(parts[v]["score"]) for v in score_by if v in parts]
    alone = len(parts) <= len(score_by)  # nothing else ran: the node's score is best_of_n's
    score = sum(mine) / len(mine) if mine and not alone else float(node.score or 0.0)
    seen = parts.get("generated_tests", {}).get("details") or {}
    return Draw(
        answer=_voted(node) if node.parse_error is None else None,
        score=score,
        completion_tokens=int(node.meta.get("tokens", 0)),
        behaviour=seen.get("behaviour"),
        matched=int(seen.get("matched") or 0),
        checked=int(seen.get("checked") or 0),
        public=tuple(seen.get("public") or ()),
    )


def _refuse_collective(named: list[str]) -> None:
    """best_of_n over a pool picks each budget's winner by per-sample scores; a verifier that
    judges the whole pool at once (a vote, agreement) would tell budget k about the other
    samples. The kind's default majority on math is re-voted inside each subset instead."""
    from ponder.verifiers.registry import VERIFIERS

    for name in named:
        if is_collective(VERIFIERS.get(name.partition(":")[0])):
            raise ConfigError(
                f"best_of_n in a sample pool cannot pick by {name!r}: it judges the whole "
                "pool at once, so a smaller budget's pick would see the other samples",
                fix=f"name {name} for self_consistency instead, or run with --no-pool",
            )


def _fresh(run_dir: Path) -> Path:
    """An empty run directory: a leftover of a killed cell is removed (the cache keeps its calls)."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    return run_dir


@dataclass
class RuntimeExecutor:
    """Cells as real `ponder solve` runs: the model, sandbox and scenario grading of the bench."""

    model: ModelClient
    sandbox: Sandbox | None
    scenario: Scenario
    base: RunConfig = field(default_factory=RunConfig)
    keep_runs: bool = True
    recipe: dict[str, dict[str, Any]] = field(default_factory=dict)  # the bench's `search`

    def _config(
        self, strategy: str, options: dict[str, Any], tokens: int | None, seed: int
    ) -> RunConfig:
        # `math_mode` (pal, prose, auto) and `verifiers` are run options, not the strategy's:
        # a recipe gives them per strategy (`search: {greedy: {math_mode: prose}}`,
        # `search: {mcts: {verifiers: [tests, generated_tests]}}`); auto is pal with a sandbox.
        options = dict(options)
        verifiers = list(options.pop("verifiers", None) or self.base.verifiers)
        agents = self.base.agents
        if "math_mode" in options:
            mode = options.pop("math_mode")
            if mode not in get_args(MathMode):
                raise ConfigError(
                    f"{strategy}: unknown math_mode {mode!r}",
                    fix=f"use one of {', '.join(get_args(MathMode))}",
                )
            agents = agents.model_copy(update={"math_mode": mode})
        return self.base.model_copy(update={
            "strategy": strategy, "search": options, "seed": seed, "verifiers": verifiers,
            "budget": BudgetConfig(tokens=tokens),
            "agents": agents.resolved(has_sandbox=self.sandbox is not None),
        })  # fmt: skip

    async def _solve(self, task: Task, config: RunConfig, run_dir: Path) -> tuple[RunResult, float]:
        start = time.monotonic()
        result = await solve_task(
            task, config, model=self.model, sandbox=self.sandbox, out_dir=_fresh(run_dir)
        )
        return result, time.monotonic() - start

    def _done(self, run_dir: Path) -> str | None:
        if self.keep_runs:
            return str(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
        return None

    async def run(self, cell: CellSpec) -> CellRun:
        config = self._config(cell.strategy, cell.options, cell.budget_tokens, cell.seed)
        result, wall = await self._solve(cell.task, config, cell.run_dir)
        if result.solution is None:
            grade = Grade(correct=False, details={"reason": "the run returned no solution"})
        else:
            base = Grade.model_validate(result.grade) if result.grade else None
            grade = await self.scenario.grade(cell.task, result.solution, self.sandbox, base=base)
        return CellRun(result.solution, grade, _spent(result), wall, self._done(cell.run_dir))

    def _named_verifiers(self, strategy: str) -> list[str]:
        return list(self.recipe.get(strategy, {}).get("verifiers") or [])

    async def draw_pool(self, task: Task, n: int, seed: int, run_dir: Path) -> PoolDraw:
        """n samples from best_of_n (no greedy member), verified by the verifiers best_of_n
        and self_consistency name in the recipe (default: the task kind's). Each sample is
        scored by best_of_n's; self_consistency's generated tests record its behaviour."""
        named = self._named_verifiers("best_of_n")
        _refuse_collective(named)
        score_by = named or self.base.verifiers_for(task.kind)
        verifiers = list(dict.fromkeys(score_by + self._named_verifiers("self_consistency")))
        options = {"n": n, "include_greedy": False, "verifiers": verifiers}
        if mode := pool_math_mode(self.recipe):
            options["math_mode"] = mode
        config = self._config("best_of_n", options, None, seed)
        result, wall = await self._solve(task, config, run_dir)
        tree = ThoughtTree.load(run_dir / "tree.json")
        draws = [_draw(node, score_by) for node in tree.candidates()]
        return PoolDraw(draws, _spent(result), wall, self._done(run_dir))
