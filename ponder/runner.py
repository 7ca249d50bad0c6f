"""Run one solve end to end: build the parts, drive the graph, grade after the search, write RUN_DIR."""

from __future__ import annotations

import contextlib
import inspect
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from langgraph.types import Command

from ponder import provenance
from ponder.agents import Refiner, Reviewer, Solver
from ponder.budget import Budget
from ponder.config import RunConfig
from ponder.errors import BudgetExhausted, ConfigError
from ponder.graph import ApproveFn, InlineSqliteSaver, Runtime, build_graph
from ponder.kinds import kind_for, kind_of
from ponder.kinds.base import RunParts
from ponder.llm.client import ModelClient
from ponder.sandbox.base import Sandbox
from ponder.search import SearchContext, get_strategy
from ponder.search.metered import Meter
from ponder.task import Task, TaskRecord, grade, load_task, task_to_record
from ponder.tree import ThoughtTree
from ponder.verifiers import build_verifier, get_verifier

EventFn = Callable[[dict[str, Any]], None]
THREAD = {"configurable": {"thread_id": "run"}}

# The files of a run directory.
CONFIG, TASK, RESULT, TREE, TREE_LOG, EVENTS, CHECKPOINTS, REPORT = (
    "config.json",
    "task.json",
    "result.json",
    "tree.json",
    "tree.jsonl",
    "events.jsonl",
    "checkpoints.sqlite",
    "report.html",
)


@dataclass
class RunResult:
    """What a run produced (also written as RUN_DIR/result.json)."""

    run_dir: str
    task_id: str
    kind: str
    strategy: str
    solution: str | None  # the program (code) or the final answer (math)
    solution_text: str | None  # the whole candidate text
    candidate_id: str | None
    passed_public: bool | None
    score: float | None
    verdicts: dict[str, Any]
    stop_reason: str
    iterations: int
    nodes: int
    budget: dict[str, Any]
    grade: dict[str, Any] | None = None
    resumed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("ponder", "langgraph", "langgraph-checkpoint-sqlite"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


class _EventLog:
    """events.jsonl plus the caller's callback; keeps a running view of the graph state."""

    def __init__(self, path: Path, tree: ThoughtTree, on_event: EventFn | None) -> None:
        self.fh = path.open("a", encoding="utf-8")
        self.tree = tree
        self.on_event = on_event
        self.view: dict[str, Any] = {}
        self.started = time.monotonic()

    def emit(self, kind: str, **data: Any) -> None:
        event = {
            "t": round(time.monotonic() - self.started, 4),
            "event": kind,
            "nodes": len(self.tree),
            **data,
        }
        self.fh.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
        self.fh.flush()
        if self.on_event is not None:
            self.on_event(event)

    def phase(self, name: str, update: dict[str, Any]) -> None:
        self.view.update(update or {})
        v = self.view
        self.emit(
            "phase",
            phase=name,
            next=v.get("next"),
            iteration=v.get("iteration", 0),
            best=v.get("best"),
            best_score=v.get("best_score", 0.0),
            spent=v.get("spent", {}),
            stop=v.get("stop"),
            phase_ms=update.get("phase_ms"),
        )

    def close(self) -> None:
        self.fh.close()


@dataclass(frozen=True)
class _Parts:
    """What drives a run besides its task and config: the model, the sandbox and the callbacks."""

    model: ModelClient
    sandbox: Sandbox | None = None
    on_event: EventFn | None = None
    approve: ApproveFn | None = None


async def _decide(approve: ApproveFn | None, payload: dict[str, Any]) -> str:
    if approve is None:
        return "accept"
    answer = approve(payload)
    if inspect.isawaitable(answer):
        answer = await answer
    return "accept" if answer else "reject"


def _context(task: Task, config: RunConfig, tree: ThoughtTree, parts: RunParts) -> SearchContext:
    # Every model and sandbox call of the search (agents and verifiers) is admitted by the
    # budget first (`parts` holds the metered model and sandbox); grading after the search
    # uses the bare sandbox.
    metered, budget = parts.model, parts.budget
    made: dict[str, Any] = {}
    parts = {"sandbox": parts.sandbox, "model": metered, "budget": budget}

    def make_verifier(name: str) -> Any:
        # One instance per name per run: a PRM verifier loads its model once, not per step.
        if name not in made:
            made[name] = get_verifier(name, **parts)
        return made[name]

    return SearchContext(
        task=task.view(),  # the hidden part never enters the search
        tree=tree,
        solver=Solver(metered, config.agents),
        reviewer=Reviewer(metered, config.agents),
        refiner=Refiner(metered, config.agents),
        verifier=build_verifier(config.verifiers_for(task.kind), **parts),
        budget=budget,
        seed=config.seed,
        make_verifier=make_verifier,
    )


async def _prepare(task: Task, config: RunConfig, tree: ThoughtTree, parts: RunParts) -> None:
    """The kind's once-per-run preparation (a repository's first test run and localization),
    kept in the tree so a resumed run does not redo it. A budget spent here leaves the search
    to stop at its first phase."""
    with contextlib.suppress(BudgetExhausted):
        await kind_for(task, config.agents).prepare(task.view(), tree, parts)


async def _result(
    run_dir: Path,
    task: Task,
    config: RunConfig,
    tree: ThoughtTree,
    budget: Budget,
    state: dict[str, Any],
    sandbox: Sandbox | None,
    resumed: bool,
) -> RunResult:
    winner = tree.node(tree.winner) if tree.winner else None
    solution = winner.answer if winner else None
    graded = None
    if solution is not None and not task.hidden.empty:
        graded = (await grade(task, solution, sandbox)).model_dump()
    return RunResult(
        run_dir=str(run_dir),
        task_id=task.id,
        kind=task.kind,
        strategy=config.strategy,
        solution=solution,
        solution_text=winner.text if winner else None,
        candidate_id=winner.id if winner else None,
        passed_public=winner.passed if winner else None,
        score=winner.score if winner else None,
        verdicts=winner.verdicts if winner else {},
        stop_reason=state.get("stop") or "done",
        iterations=state.get("iteration", 0),
        nodes=len(tree),
        budget=budget.report(),
        grade=graded,
        resumed=resumed,
    )


def _write_outputs(run_dir: Path, tree: ThoughtTree, result: RunResult) -> None:
    from ponder.report.tree_view import write_tree_html

    tree.save(run_dir / TREE)
    (run_dir / RESULT).write_text(
        json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8"
    )
    write_tree_html(
        tree,
        run_dir / REPORT,
        title=f"{result.task_id} ({result.strategy})",
        result=result.to_dict(),
    )


async def _drive(
    graph, inp: Any, config: RunConfig, events: _EventLog, approve: ApproveFn | None
) -> None:
    while True:
        pending = None
        async for chunk in graph.astream(
            inp, THREAD, stream_mode="updates", durability=config.durability
        ):
            for name, update in chunk.items():
                if name == "__interrupt__":
                    pending = update[0].value
                    events.emit("interrupt", candidate=pending.get("candidate"))
                else:
                    events.phase(name, update)
        if pending is None:
            return
        decision = await _decide(approve, pending)
        events.emit("decision", candidate=pending.get("candidate"), decision=decision)
        inp = Command(resume=decision)


async def _run(
    run_dir: Path, task: Task, config: RunConfig, parts: _Parts, *, resume: bool
) -> RunResult:
    model, sandbox, approve = parts.model, parts.sandbox, parts.approve
    budget = config.budget.to_budget()
    strategy = get_strategy(config.strategy, config.search)
    rt = Runtime(strategy=strategy, ctx=None, interactive=config.interactive)  # type: ignore[arg-type]
    saver = InlineSqliteSaver.open(run_dir / CHECKPOINTS, config.checkpoint_every)
    try:
        graph = build_graph(rt).compile(checkpointer=saver)
        snapshot = await graph.aget_state(THREAD)
        values = dict(snapshot.values or {})
        if resume and values:
            tree = ThoughtTree.replay(run_dir / TREE_LOG, upto=values.get("tree_seq"), attach=True)
            budget.resume(values.get("spent", {}), values.get("wall_seconds", 0.0))
        else:
            (run_dir / TREE_LOG).touch()
            tree = ThoughtTree.replay(run_dir / TREE_LOG, upto=0, attach=True)  # a fresh log
            tree.add_root(task.view().prompt)
        meter = Meter(budget)
        metered = RunParts(meter.model(model), meter.sandbox(sandbox), budget)
        rt.ctx = _context(task, config, tree, metered)
        events = _EventLog(run_dir / EVENTS, tree, parts.on_event)
        try:
            if resume and values:
                events.emit("resume", tree_seq=values.get("tree_seq"), next=list(snapshot.next))
                interrupts = [i for t in snapshot.tasks for i in t.interrupts]
                if interrupts:
                    inp: Any = Command(resume=await _decide(approve, interrupts[0].value))
                else:
                    inp = None
                if snapshot.next:
                    await _drive(graph, inp, config, events, approve)
            else:
                events.emit("start", strategy=config.strategy, task=task.id)
                await _prepare(task, config, tree, metered)
                start = {
                    "next": "select",
                    "iteration": 0,
                    "tree_seq": tree.seq,
                    "spent": asdict(budget.spent),
                    "wall_seconds": round(budget.wall_seconds, 3),
                }
                await _drive(graph, start, config, events, approve)
            state = dict((await graph.aget_state(THREAD)).values)
            result = await _result(run_dir, task, config, tree, budget, state, sandbox, resume)
            events.emit(
                "done",
                stop=result.stop_reason,
                candidate=result.candidate_id,
                score=result.score,
                spent=result.budget["spent"],
            )
        finally:
            events.close()
            tree.close_log()
    finally:
        saver.close()
    _write_outputs(run_dir, tree, result)
    return result


def with_kind_defaults(task: Task, config: RunConfig) -> RunConfig:
    """`config` with the task kind's defaults for what it leaves unset (its agent settings,
    its options for the strategy), so config.json records what the run used."""
    agents = kind_of(task).agents(config.agents)
    kind = kind_for(task, agents)  # the variant these settings use (program-aided math)
    search = kind.strategy_defaults.get(config.strategy, {}) | config.search
    return config.model_copy(update={"agents": agents, "search": search})


def _prepare_dir(out_dir: str | Path | None, task: Task) -> Path:
    if out_dir is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in task.id)
        out_dir = Path("runs") / f"{stamp}-{safe}"
    run_dir = Path(out_dir)
    if (run_dir / CHECKPOINTS).exists():
        raise ConfigError(
            f"{run_dir} already holds a run",
            fix=f"resume it with --resume {run_dir}, or pick another --out",
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


async def solve_task(
    task: Task,
    config: RunConfig,
    *,
    model: ModelClient,
    sandbox: Sandbox | None = None,
    out_dir: str | Path | None = None,
    on_event: EventFn | None = None,
    approve: ApproveFn | None = None,
) -> RunResult:
    """Search for a solution of `task`, grade it on the hidden part, and write RUN_DIR.

    `sandbox` is needed for code tasks (the `tests` verifier and grading). `on_event` gets
    every streamed progress event; `approve` answers the interactive review (True = accept).
    """
    run_dir = _prepare_dir(out_dir, task)
    config = with_kind_defaults(task, config)
    record = {
        "config": config.model_dump(mode="json"),
        "versions": _versions(),
        "provenance": provenance.collect(model.name, sandbox).model_dump(mode="json"),
        "task_id": task.id,
    }
    (run_dir / CONFIG).write_text(json.dumps(record, indent=2), encoding="utf-8")
    (run_dir / TASK).write_text(
        json.dumps(task_to_record(task), ensure_ascii=False), encoding="utf-8"
    )
    parts = _Parts(model, sandbox, on_event, approve)
    return await _run(run_dir, task, config, parts, resume=False)


def load_run(run_dir: str | Path) -> tuple[Task, RunConfig]:
    """The task and resolved config a run directory was started with."""
    run_dir = Path(run_dir)
    try:
        record = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
        task = TaskRecord.model_validate(
            json.loads((run_dir / TASK).read_text(encoding="utf-8"))
        ).to_task()
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{run_dir} is not a resumable run directory ({exc})",
            fix="pass a RUN_DIR written by `ponder solve` (it holds config.json and task.json)",
        ) from None
    return task, RunConfig.model_validate(record["config"])


async def resume_run(
    run_dir: str | Path,
    *,
    model: ModelClient,
    sandbox: Sandbox | None = None,
    on_event: EventFn | None = None,
    approve: ApproveFn | None = None,
) -> RunResult:
    """Go on with a run that was killed or interrupted: finished phases are not redone."""
    run_dir = Path(run_dir)
    task, config = load_run(run_dir)
    if not (run_dir / CHECKPOINTS).exists():
        raise ConfigError(f"{run_dir} has no checkpoints", fix="start the run with `ponder solve`")
    parts = _Parts(model, sandbox, on_event, approve)
    return await _run(run_dir, task, config, parts, resume=True)


def load_task_ref(ref: str) -> Task:
    """The task named by TASK on the command line: FILE, FILE#ID, or a scenario ref."""
    path, _, task_id = ref.partition("#")
    if Path(path).is_file():
        return load_task(path, task_id or None)
    try:
        from ponder.scenarios import resolve_task
    except ImportError:
        raise ConfigError(
            f"{ref!r} is not a task file",
            fix="pass the path of a .jsonl task file (FILE or FILE#ID)",
        ) from None
    if "/" not in ref:
        raise ConfigError(
            f"{ref!r} is neither a task file nor a scenario reference",
            fix="pass a .jsonl task file, FILE#ID, or SCENARIO/TASK_ID (e.g. humaneval/HumanEval/0)",
        )
    return resolve_task(ref)
