"""The LangGraph state machine of one run: phase nodes, and conditional edges that follow the strategy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from ponder.errors import PonderError
from ponder.search.base import PHASES, SearchContext, SearchState, Strategy

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


@dataclass
class Runtime:
    """What the phase nodes close over: the strategy, its context, and run options."""

    strategy: Strategy
    ctx: SearchContext
    interactive: bool = False


def _bookkeeping(rt: Runtime) -> dict[str, Any]:
    """Fields every phase writes: where the tree log is, what was spent, the best so far."""
    return {"tree_seq": rt.ctx.tree.seq, "spent": asdict(rt.ctx.budget.spent), **rt.ctx.progress()}


def _phase_node(phase: str, rt: Runtime) -> Callable[[SearchState], Awaitable[dict[str, Any]]]:
    async def node(state: SearchState) -> dict[str, Any]:
        reason = rt.ctx.budget.exhausted_reason()
        if reason is not None:
            return {"next": "finalize", "stop": f"budget: {reason}", **_bookkeeping(rt)}
        step = await getattr(rt.strategy, phase)(rt.ctx, state)
        if step.next not in TRANSITIONS[phase]:
            raise StrategyError(
                f"strategy {rt.strategy.name!r} chose {phase} -> {step.next}, which the graph lacks",
                fix=f"from {phase} a strategy may go to: {', '.join(TRANSITIONS[phase])}",
            )
        return {**step.updates, "next": step.next, **_bookkeeping(rt)}

    node.__name__ = phase
    return node


def _finalize_node(rt: Runtime) -> Callable[[SearchState], Awaitable[dict[str, Any]]]:
    async def finalize(state: SearchState) -> dict[str, Any]:
        chosen = rt.strategy.choose(rt.ctx, state)
        if rt.interactive and chosen is not None:
            answer = interrupt(
                {"candidate": chosen.id, "text": chosen.text, "answer": chosen.answer,
                 "score": rt.ctx.value(chosen.id), "feedback": chosen.feedback}
            )
            if answer != "accept":
                rejected = [*state.get("rejected", []), chosen.id]
                rt.ctx.tree.update(chosen.id, meta=chosen.meta | {"rejected_by_user": True})
                return {"rejected": rejected, "next": "select", "decision": str(answer),
                        **_bookkeeping(rt)}
        rt.ctx.tree.set_winner(chosen.id if chosen else None)
        stop = state.get("stop") or "done"
        return {"next": END, "stop": stop, "decision": "accept", **_bookkeeping(rt),
                "best": chosen.id if chosen else "",
                "best_score": rt.ctx.value(chosen.id) if chosen else 0.0}

    return finalize


def _router(phase: str) -> Callable[[SearchState], str]:
    def route(state: SearchState) -> str:
        return state.get("next") or END

    route.__name__ = f"after_{phase}"
    return route


def build_graph(rt: Runtime | None = None) -> StateGraph:
    """The run's StateGraph (uncompiled). Without a runtime it only serves drawing."""
    graph = StateGraph(SearchState)
    for phase in PHASES:
        if rt is None:
            graph.add_node(phase, _placeholder)
        elif phase == "finalize":
            graph.add_node(phase, _finalize_node(rt))
        else:
            graph.add_node(phase, _phase_node(phase, rt))
        graph.add_conditional_edges(phase, _router(phase), {t: t for t in TRANSITIONS[phase]})
    graph.add_edge(START, "select")
    return graph


async def _placeholder(state: SearchState) -> dict[str, Any]:
    raise PonderError("this graph was built for drawing only", fix="build it with a Runtime")


def mermaid() -> str:
    """The state machine as a Mermaid diagram (`ponder graph`)."""
    return build_graph().compile().get_graph().draw_mermaid()
