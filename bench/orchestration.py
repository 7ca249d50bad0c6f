"""Orchestration overhead per MCTS expansion at tree sizes 10, 100, 1000 (LLM and sandbox excluded).

Runs the real runner (LangGraph state machine, SQLite checkpointer, append-only tree log,
events.jsonl) with an instant scripted model and an instant verifier, so what remains is
Ponder's own cost: graph steps, checkpoints, tree updates, selection, logging. One MCTS
iteration (select, expand, execute, score, backpropagate) is one expansion; its wall time
minus the model time the budget recorded is its overhead. Iterations are grouped by the
tree size at their start.

    .venv/bin/python bench/orchestration.py [--repeats 3] [--k 2] [--modes iteration/sync ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langgraph.graph import END, START, StateGraph  # noqa: E402

from ponder.config import RunConfig  # noqa: E402
from ponder.graph import InlineSqliteSaver  # noqa: E402
from ponder.llm.base import Message, SamplingParams  # noqa: E402
from ponder.llm.client import ModelClient  # noqa: E402
from ponder.llm.scripted import ScriptedLLM  # noqa: E402
from ponder.runner import solve_task  # noqa: E402
from ponder.task import TaskRecord  # noqa: E402
from ponder.verifiers.base import Candidate, Verdict  # noqa: E402
from ponder.verifiers.registry import register_verifier  # noqa: E402

SIZES = (10, 100, 1000)
CODE = "```python\ndef f(x):\n    return x  # {}\n```"


@register_verifier("bench-instant")
class InstantVerifier:
    """A verifier that costs nothing: a stable pseudo-random score in [0, 0.9] (never passes)."""

    name = "bench-instant"

    async def verify(self, task, candidates: list[Candidate]) -> list[Verdict]:
        out = []
        for c in candidates:
            h = int(hashlib.sha1(c.text.encode()).hexdigest()[:6], 16) / 0xFFFFFF
            out.append(Verdict(score=round(0.9 * h, 3), passed=False, feedback="fails"))
        return out


def responder(messages: list[Message], params: SamplingParams) -> list[str]:
    """Distinct plan steps and programs, so the tree grows like a real one."""
    last = messages[-1]["content"]
    tag = hashlib.sha1(last.encode()).hexdigest()[:8]
    if "step" in last and "plan" in last.lower() and "Complete the following" not in last:
        return [f"Idea {tag}-{i}." for i in range(params.n)]
    return [CODE.format(f"{tag}-{i}") for i in range(params.n)]


async def one_run(
    out: Path, k: int, durability: str, grain: str, target: int, seed: int
) -> list[tuple[int, float, float, float]]:
    """Per MCTS iteration: (tree size at start, wall s, process CPU s, Ponder phase s), model time out."""
    task = TaskRecord(
        kind="code", id="bench", entry_point="f", prompt="def f(x):\n    '''Return x.'''\n"
    ).to_task()
    config = RunConfig(
        strategy="mcts",
        model="scripted",
        sandbox="none",
        verifiers=["bench-instant"],
        search={"k": k, "max_depth": 12, "max_iterations": target // (2 * k) + 5, "rethink": False},
        budget={"tokens": None},
        durability=durability,
        seed=seed,
        checkpoint_every=grain,
    )
    marks: list[tuple[float, float, int, float, float]] = []  # wall, cpu, nodes, llm s, phase s
    phase_s = [0.0]  # time inside the strategy's phases so far (model time included)

    def on_event(event: dict) -> None:
        if event.get("event") != "phase":
            return
        phase_s[0] += (event.get("phase_ms") or 0.0) / 1000
        if event.get("phase") == "select":
            llm = event["spent"].get("llm_seconds", 0.0)
            marks.append(
                (time.perf_counter(), time.process_time(), event["nodes"], llm, phase_s[0])
            )

    model = ModelClient(ScriptedLLM(responder, name="bench"))
    await solve_task(task, config, model=model, sandbox=None, out_dir=out, on_event=on_event)
    return [
        (n0, (w1 - w0) - (l1 - l0), (c1 - c0) - (l1 - l0), (p1 - p0) - (l1 - l0))
        for (w0, c0, n0, l0, p0), (w1, c1, _, l1, p1) in zip(marks, marks[1:], strict=False)
    ]


class _Counter(TypedDict):
    i: int


async def langgraph_floor(durability: str, grain: str, steps: int = 400) -> tuple[float, float]:
    """(wall ms, CPU ms) per step of a bare one-node LangGraph loop with the same checkpointer."""

    async def tick(s: _Counter) -> dict:
        return {"i": s["i"] + 1}

    async def route(s: _Counter) -> str:
        return "tick" if s["i"] < steps else END

    g = StateGraph(_Counter)
    g.add_node("tick", tick)
    g.add_conditional_edges("tick", route, {"tick": "tick", END: END})
    g.add_edge(START, "tick")
    with tempfile.TemporaryDirectory() as tmp:
        saver = InlineSqliteSaver.open(Path(tmp) / "c.sqlite", grain)
        graph = g.compile(checkpointer=saver)
        wall, cpu = time.perf_counter(), time.process_time()
        config = {"configurable": {"thread_id": "t"}}
        async for _ in graph.astream(
            {"i": 0}, config, stream_mode="updates", durability=durability
        ):
            pass
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        saver.close()
    return wall * 1000 / steps, cpu * 1000 / steps


def _bin(size: int) -> int | None:
    for target in SIZES:
        if 0.5 * target <= size <= 1.5 * target:
            return target
    return None


async def measure(mode: str, k: int, repeats: int) -> list[tuple]:
    """Table rows for one checkpoint grain/durability mode."""
    grain, durability = mode.split("/")
    floor_wall, floor_cpu = await langgraph_floor(durability, grain)
    samples: dict[int, list[tuple[float, float, float]]] = {s: [] for s in SIZES}
    for rep in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            target = int(max(SIZES) * 1.3)
            for size, *times in await one_run(Path(tmp) / "run", k, durability, grain, target, rep):
                if (size_bin := _bin(size)) is not None:
                    samples[size_bin].append(tuple(1000 * t for t in times))
    rows = []
    for size in SIZES:
        wall, cpu, own = (statistics.median(col) for col in zip(*samples[size], strict=True))
        rows.append((mode, size, len(samples[size]), wall, cpu, own, 5 * floor_wall, 5 * floor_cpu))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["phase/sync", "iteration/sync", "phase/exit"],
        help="checkpoint grain/durability pairs",
    )
    args = parser.parse_args()
    rows = [row for mode in args.modes for row in await measure(mode, args.k, args.repeats)]
    print(
        f"MCTS k={args.k}, instant model and verifier, SQLite checkpointer in the run dir; "
        f"{args.repeats} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.\n"
        "One expansion = 5 graph steps (select, expand, execute, score, backpropagate); medians, "
        "model time removed. wall = elapsed; CPU = this process's CPU time (robust to a busy "
        "machine); Ponder phases = wall time inside the strategy's phases; last column: 5 steps "
        "of a bare one-node LangGraph loop with the same checkpointer.\n"
    )
    print(
        "| checkpoint grain/durability | tree size | expansions | wall ms | CPU ms "
        "| Ponder phases ms | bare LangGraph x5: wall / CPU ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode, size, n, wall, cpu, own, fwall, fcpu in rows:
        print(
            f"| {mode} | ~{size} | {n} | {wall:.2f} | {cpu:.2f} | {own:.2f} "
            f"| {fwall:.2f} / {fcpu:.2f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
