"""The LangGraph state machine of one run: phase nodes, and conditional edges that follow the strategy."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import TypeAdapter, ValidationError

from ponder.errors import BudgetExhausted, PonderError
from ponder.search.base import PHASES, SearchContext, SearchState, Strategy, state_keys

# Every transition a strategy may choose (the graph's conditional edges). `finalize` is
# reachable from every phase because the budget can end the search anywhere.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "select": ("expand", "finalize"),
    "expand": ("execute", "score", "backpropagate", "select", "finalize"),
    "execute": ("score", "finalize"),
    "score": ("review", "backpropagate", "expand", "finalize"),
    "review": ("refine", "finalize"),
    "refine": ("execute", "backpropagate", "finalize"),
    "backpropagate": ("select", "finalize"),
    "finalize": ("select", END),
}

ApproveFn = Callable[[dict[str, Any]], Awaitable[bool] | bool]


class StrategyError(PonderError):
    """A strategy chose a transition the graph does not have."""


class StrategyStateError(StrategyError):
    """A phase returned a state key its strategy's State does not declare, or a bad value."""


@cache
def _adapter(state: type) -> TypeAdapter:
    return TypeAdapter(state)


def check_updates(strategy: Strategy, phase: str, updates: dict[str, Any]) -> None:
    """Fail loudly where LangGraph would drop an undeclared key without a word."""
    state = strategy.State
    unknown = sorted(set(updates) - state_keys(state))
    if unknown:
        key = unknown[0]
        raise StrategyStateError(
            f"strategy {strategy.name!r}, phase {phase!r}: state key {key!r} is not declared "
            f"in its State ({state.__name__}), so the graph would drop it",
            fix=f"declare it: `class {state.__name__}(SearchState, total=False): {key}: ...` "
            f"and `State = {state.__name__}` on the strategy",
        )
    try:
        _adapter(state).validate_python(updates)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StrategyStateError(
            f"strategy {strategy.name!r}, phase {phase!r}: state key {where!r} = "
            f"{first.get('input')!r} does not fit {state.__name__}: {first['msg']}",
            fix="return ids, counters and decisions of the declared types (the tree lives "
            "outside the state)",
        ) from None


@dataclass
class Runtime:
    """What the phase nodes close over: the strategy, its context, and run options."""

    strategy: Strategy
    ctx: SearchContext
    interactive: bool = False


def _bookkeeping(rt: Runtime) -> dict[str, Any]:
    """Fields every phase writes: where the tree log is, what was spent, the best so far."""
    budget = rt.ctx.budget
    return {
        "tree_seq": rt.ctx.tree.seq,
        "spent": asdict(budget.spent),
        "wall_seconds": round(budget.wall_seconds, 3),
        **rt.ctx.progress(),
    }


def _phase_node(phase: str, rt: Runtime) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    async def node(state: dict[str, Any]) -> dict[str, Any]:
        reason = rt.ctx.budget.exhausted_reason()
        if reason is not None:
            return {"next": "finalize", "stop": f"budget: {reason}", **_bookkeeping(rt)}
        started = time.perf_counter()
        try:
            step = await getattr(rt.strategy, phase)(rt.ctx, state)
        except BudgetExhausted as exc:  # a call the budget refused: the search ends here
            return {
                "next": "finalize",
                "stop": f"budget: {exc.message}",
                "phase_ms": round((time.perf_counter() - started) * 1000, 3),
                **_bookkeeping(rt),
            }
        phase_ms = (time.perf_counter() - started) * 1000
        if step.next not in TRANSITIONS[phase]:
            raise StrategyError(
                f"strategy {rt.strategy.name!r} chose {phase} -> {step.next}, which the graph lacks",
                fix=f"from {phase} a strategy may go to: {', '.join(TRANSITIONS[phase])}",
            )
        check_updates(rt.strategy, phase, step.updates)
        return {
            **step.updates,
            "next": step.next,
            "phase_ms": round(phase_ms, 3),
            **_bookkeeping(rt),
        }

    node.__name__ = phase
    return node


def _finalize_node(rt: Runtime) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    async def finalize(state: dict[str, Any]) -> dict[str, Any]:
        settled = await rt.strategy.settle(rt.ctx, state)  # idempotent: an interrupt reruns it
        check_updates(rt.strategy, "finalize", settled)
        state = {**state, **settled}
        chosen = rt.strategy.choose(rt.ctx, state)
        if rt.interactive and chosen is not None:
            answer = interrupt(
                {
                    "candidate": chosen.id,
                    "text": chosen.text,
                    "answer": chosen.answer,
                    "score": rt.ctx.value(chosen.id),
                    "feedback": chosen.feedback,
                }
            )
            if answer != "accept":
                rejected = [*state.get("rejected", []), chosen.id]
                rt.ctx.tree.update(chosen.id, meta=chosen.meta | {"rejected_by_user": True})
                return {
                    **settled,
                    "rejected": rejected,
                    "next": "select",
                    "decision": str(answer),
                    **_bookkeeping(rt),
                }
        rt.ctx.tree.set_winner(chosen.id if chosen else None)
        stop = state.get("stop") or "done"
        return {
            **settled,
            "next": END,
            "stop": stop,
            "decision": "accept",
            **_bookkeeping(rt),
            "best": chosen.id if chosen else "",
            "best_score": rt.ctx.value(chosen.id) if chosen else 0.0,
        }

    return finalize


def _router(phase: str) -> Callable[[dict[str, Any]], Awaitable[str]]:
    # async, so LangGraph calls it inline rather than in a worker thread
    async def route(state: dict[str, Any]) -> str:
        return state.get("next") or END

    route.__name__ = f"after_{phase}"
    return route


def build_graph(rt: Runtime | None = None) -> StateGraph:
    """The run's StateGraph (uncompiled). Without a runtime it only serves drawing.

    Its schema is the strategy's State (SearchState plus the strategy's own keys), and every
    node reads all of it.
    """
    state = rt.strategy.State if rt is not None else SearchState
    graph = StateGraph(state)
    for phase in PHASES:
        if rt is None:
            graph.add_node(phase, _placeholder, input_schema=state)
        elif phase == "finalize":
            graph.add_node(phase, _finalize_node(rt), input_schema=state)
        else:
            graph.add_node(phase, _phase_node(phase, rt), input_schema=state)
        graph.add_conditional_edges(phase, _router(phase), {t: t for t in TRANSITIONS[phase]})
    graph.add_edge(START, "select")
    return graph


async def _placeholder(state: dict[str, Any]) -> dict[str, Any]:
    raise PonderError("this graph was built for drawing only", fix="build it with a Runtime")


def mermaid() -> str:
    """The state machine as a Mermaid diagram (`ponder graph`)."""
    return build_graph().compile().get_graph().draw_mermaid()


# Checkpoint grain: "phase" writes a checkpoint after every phase; "iteration" only when an
# iteration (or refinement round, or level) completes and when the search ends, so a resumed
# run redoes at most the unfinished iteration, whose model calls the response cache answers.
_TERMINAL = ("finalize", END, None)


def _iteration_key(values: dict[str, Any]) -> tuple:
    return (
        values.get("iteration"),
        values.get("rounds"),
        values.get("depth"),
        values.get("rejected"),
    )


class InlineSqliteSaver(SqliteSaver):
    """The SQLite checkpointer, run inline on the event loop, at phase or iteration grain.

    A checkpoint write is a sub-millisecond SQLite statement (WAL, synchronous=NORMAL); running
    it inline avoids a thread hop per step (aiosqlite's worker, or run_in_executor), which on a
    busy machine cost several milliseconds per graph step.

    A finished phase's own writes are not stored (only interrupts and resumes are): a resumed
    run re-runs the phase after the last checkpoint, so the tree log (replayed up to the
    checkpoint's `tree_seq`) and the graph state always agree.
    """

    def __init__(self, conn: sqlite3.Connection, grain: str = "iteration") -> None:
        super().__init__(conn)
        if grain not in ("phase", "iteration"):
            raise PonderError(f"unknown checkpoint grain {grain!r}", fix="use phase or iteration")
        self.grain = grain
        self._last_key: tuple | None = None
        self._skipped: str | None = None

    @classmethod
    def open(cls, path: str | Path, grain: str = "iteration") -> InlineSqliteSaver:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return cls(conn, grain)

    def close(self) -> None:
        self.conn.close()

    def _keep(self, checkpoint: dict[str, Any]) -> bool:
        values = checkpoint.get("channel_values") or {}
        if self.grain == "phase" or values.get("next") in _TERMINAL:
            return True
        key = _iteration_key(values)
        if key != self._last_key:
            self._last_key = key
            return True
        return False

    async def aget_tuple(self, config):
        return self.get_tuple(config)

    async def alist(self, config, *, filter=None, before=None, limit=None) -> AsyncIterator:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):
        if self._keep(checkpoint):
            self._skipped = None
            return self.put(config, checkpoint, metadata, new_versions)
        self._skipped = checkpoint["id"]
        configurable = config["configurable"]
        return {
            "configurable": {
                "thread_id": configurable["thread_id"],
                "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(self, config, writes, task_id, task_path=""):
        if config["configurable"].get("checkpoint_id") == self._skipped:
            return None
        special = [(channel, value) for channel, value in writes if channel.startswith("__")]
        if special:
            return self.put_writes(config, special, task_id, task_path)
        return None

    async def adelete_thread(self, thread_id: str) -> None:
        return self.delete_thread(thread_id)

    async def aget_delta_channel_history(self, *, config, channels):
        return self.get_delta_channel_history(config=config, channels=channels)
