"""The state machine: routing follows the strategy, illegal transitions fail, checkpoints by grain."""

from __future__ import annotations

import sqlite3

import pytest

from ponder.config import RunConfig
from ponder.graph import TRANSITIONS, StrategyError, StrategyStateError
from ponder.runner import solve_task
from ponder.search import SearchState, Step, Strategy
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


class Counting(Strategy):
    """Loops select -> expand three times on a key of its own State."""

    name = "test-counting"

    class State(SearchState, total=False):
        laps: int

    async def select(self, ctx, state):
        if state.get("laps", 0) >= 3:
            return Step("finalize", {"stop": f"{state['laps']} laps"})
        return Step("expand")

    async def expand(self, ctx, state):
        return Step("select", {"laps": state.get("laps", 0) + 1})


class Undeclared(Counting):
    name = "test-undeclared"

    async def expand(self, ctx, state):
        return Step("select", {"evaluated": ["n0"]})  # a key no State declares


class Mistyped(Counting):
    name = "test-mistyped"

    async def expand(self, ctx, state):
        return Step("select", {"frontier": 7})  # frontier is a list of ids


async def _solve_with(strategy: type[Strategy], tmp_path, monkeypatch):
    from ponder.search import registry

    registry._load_builtins()
    monkeypatch.setitem(registry._STRATEGIES, strategy.name, strategy)
    model, _ = scripted()
    return await solve_task(
        code_task(),
        RunConfig(strategy=strategy.name),
        model=model,
        sandbox=InstantSandbox(),
        out_dir=tmp_path / "run",
    )


async def test_a_declared_state_key_survives_the_graph(tmp_path, monkeypatch):
    result = await _solve_with(Counting, tmp_path, monkeypatch)
    assert result.stop_reason == "3 laps"


async def test_an_undeclared_state_key_names_strategy_phase_and_key(tmp_path, monkeypatch):
    with pytest.raises(StrategyStateError) as err:
        await _solve_with(Undeclared, tmp_path, monkeypatch)
    assert "'test-undeclared', phase 'expand': state key 'evaluated'" in err.value.message
    assert "State" in err.value.fix


async def test_a_mistyped_state_value_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(StrategyStateError, match="'test-mistyped', phase 'expand'.*'frontier'"):
        await _solve_with(Mistyped, tmp_path, monkeypatch)


def test_a_strategy_state_must_extend_search_state():
    from typing_extensions import TypedDict

    from ponder.errors import ConfigError
    from ponder.search import register_strategy

    class Loose(TypedDict, total=False):
        laps: int

    class Bad(Strategy):
        State = Loose

    with pytest.raises(ConfigError, match="lacks SearchState's keys"):
        register_strategy("test-bad-state")(Bad)


def test_every_builtin_strategy_declares_the_keys_its_phases_return():
    import ast
    import inspect

    from ponder.search import registry
    from ponder.search.base import state_keys

    for name in registry.known_strategies():
        cls = registry.strategy_class(name)
        keys = state_keys(cls.State)
        source = inspect.getsource(inspect.getmodule(cls))
        for node in ast.walk(ast.parse(source)):
            # Step("phase", {...}) literals: every key they name is declared
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Step":
                for arg in node.args[1:]:
                    if isinstance(arg, ast.Dict):
                        for key in arg.keys:
                            if isinstance(key, ast.Constant):
                                assert key.value in keys, (name, key.value)
