"""The state machine: routing follows the strategy, illegal transitions fail, checkpoints by grain."""

from __future__ import annotations

import sqlite3

import pytest

from ponder.config import RunConfig
from ponder.graph import TRANSITIONS, StrategyError
from ponder.runner import solve_task
from ponder.search import Step, Strategy
from ponder.search.base import PHASES
from tests.search.conftest import InstantSandbox, run, scripted
from tests.search.scripted import BAD_PLAN, Responder, code_task


def test_every_phase_is_a_node_with_edges():
    assert set(TRANSITIONS) == set(PHASES)
    for phase, targets in TRANSITIONS.items():
        assert phase == "finalize" or "finalize" in targets  # the budget can stop any phase


class Illegal(Strategy):
    name = "test-illegal"

    async def select(self, ctx, state):
        return Step("refine")  # select -> refine is not an edge of the graph


async def test_an_illegal_transition_is_a_clear_error(tmp_path, monkeypatch):
    from ponder.search import registry

    registry._load_builtins()
    monkeypatch.setitem(registry._STRATEGIES, "test-illegal", Illegal)
    model, _ = scripted()
    with pytest.raises(StrategyError, match="select -> refine"):
        await solve_task(
            code_task(),
            RunConfig(strategy="test-illegal"),
            model=model,
            sandbox=InstantSandbox(),
            out_dir=tmp_path / "run",
        )


def _checkpoints(run_dir) -> int:
    with sqlite3.connect(run_dir / "checkpoints.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]


async def test_iteration_grain_writes_one_checkpoint_per_iteration(tmp_path):
    counts = {}
    for grain in ("phase", "iteration"):
        result, _ = await run(
            code_task(),
            tmp_path / grain,
            InstantSandbox(),
            "mcts",
            Responder(plans=(BAD_PLAN,)),
            search={"k": 1, "max_iterations": 4, "max_depth": 6, "rethink": False},
            checkpoint_every=grain,
        )
        counts[grain] = (_checkpoints(tmp_path / grain / "mcts"), result.iterations)
    (phase_n, iterations), (iteration_n, same) = counts["phase"], counts["iteration"]
    assert iterations == same == 4
    assert phase_n >= 5 * iterations  # one per phase
    assert iteration_n <= iterations + 4  # empty + input, one per iteration, to-finalize, end
