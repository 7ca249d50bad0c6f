"""Every strategy end to end: scripted model, real Docker sandbox (code) or none (math)."""

from __future__ import annotations

import json

import pytest

from ponder.search import known_strategies
from tests.search.conftest import run
from tests.search.scripted import BAD_PLAN, Responder, code_task, math_task

ALL = [
    "beam",
    "best_of_n",
    "dvts",
    "greedy",
    "magicore",
    "mcts",
    "refine",
    "self_consistency",
    "tot",
]


def test_registry_lists_every_strategy():
    assert known_strategies() == ALL


def _assert_run_dir(result):
    from pathlib import Path

    run_dir = Path(result.run_dir)
    for name in ("config.json", "result.json", "tree.json", "events.jsonl", "report.html"):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["strategy"] == result.strategy
    assert {"python", "langgraph", "ponder"} <= set(config["versions"])
    origin = config["provenance"]  # commit, model hash, sandbox: where this result came from
    assert {"commit", "dirty", "model", "model_sha256", "sandbox"} <= set(origin)
    assert origin["model"].startswith("scripted") and origin["model_sha256"] is None
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    assert any(e.get("phase") == "finalize" for e in events)
    saved = json.loads((run_dir / "result.json").read_text())
    assert saved["solution"] == result.solution
    assert saved["budget"]["spent"]["llm_calls"] == result.budget["spent"]["llm_calls"]


# strategy, responder options, strategy options, expected: solved?, max LLM calls
CODE_CASES = {
    "greedy": ({}, {}, False, 1),
    "best_of_n": ({}, {"n": 4}, True, 2),
    "self_consistency": ({}, {"n": 5}, True, 3),  # + the generated tests it votes on (2 calls)
    "refine": ({}, {"max_rounds": 2}, True, 3),
    "tot": ({}, {"k": 2, "breadth": 1}, True, 3),
    "beam": ({}, {"width": 1, "k": 2, "max_depth": 1}, True, 10),
    "dvts": ({}, {"subtrees": 2, "k": 2, "max_depth": 1}, True, 12),
    "mcts": ({"plans": (BAD_PLAN,)}, {"k": 2, "max_iterations": 3}, True, 7),
    "magicore": ({"all_bad": True}, {"k": 3, "refine_top": 1}, True, 3),
}


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("strategy", sorted(CODE_CASES))
async def test_code_strategy_end_to_end(strategy, docker_sandbox, tmp_path):
    responder_opts, search, solved, max_calls = CODE_CASES[strategy]
    result, llm = await run(
        code_task(), tmp_path, docker_sandbox, strategy, Responder(**responder_opts), search=search
    )
    _assert_run_dir(result)
    assert result.passed_public is solved
    assert ("a + b" in result.solution) is solved
    assert result.grade["correct"] is solved  # graded on the hidden test after the search
    assert 1 <= len(llm.calls) <= max_calls
    assert result.budget["spent"]["llm_calls"] == len(llm.calls)
    assert result.budget["spent"]["sandbox_runs"] >= 1


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_budget_bounds_every_strategy(docker_sandbox, tmp_path):
    for strategy in ALL:
        result, llm = await run(
            code_task(),
            tmp_path,
            docker_sandbox,
            strategy,
            Responder(all_bad=True, plans=(BAD_PLAN,)),
            budget={"tokens": None, "llm_calls": 2},
            search={"max_rounds": 5} if strategy in ("refine", "magicore") else {},
        )
        # Every phase checks the budget before it starts: once spent, the next phase is finalize.
        events = [
            json.loads(line)
            for line in (tmp_path / strategy / "events.jsonl").read_text().splitlines()
        ]
        phases = [e for e in events if e["event"] == "phase"]
        over = [i for i, e in enumerate(phases) if e["spent"]["llm_calls"] >= 2]
        if not over:  # finished within the budget (greedy, self_consistency: one call)
            assert len(llm.calls) < 2 and not result.stop_reason.startswith("budget"), strategy
            continue
        first_over = over[0]
        later = {e["spent"]["llm_calls"] for e in phases[first_over:]}
        assert later == {phases[first_over]["spent"]["llm_calls"]}, strategy
        assert phases[-1]["phase"] == "finalize" and result.stop_reason.startswith("budget"), (
            strategy
        )
        assert len(llm.calls) == result.budget["spent"]["llm_calls"]
        assert result.budget["limits"]["max_llm_calls"] == 2


MATH_CASES = {
    "greedy": ({}, "43"),
    "best_of_n": ({"n": 3, "include_greedy": False}, None),
    "self_consistency": ({"n": 5}, "42"),
    "magicore": ({"k": 4}, "42"),
    "refine": ({"max_rounds": 1}, "42"),
    "tot": ({"k": 2, "breadth": 1, "max_depth": 1}, None),
    "mcts": ({"k": 2, "max_iterations": 2, "max_depth": 2}, None),
    "beam": ({"width": 1, "k": 2, "max_depth": 1}, None),
    "dvts": ({"subtrees": 2, "k": 2, "max_depth": 2}, None),
}


@pytest.mark.parametrize("strategy", sorted(MATH_CASES))
async def test_math_strategy_end_to_end(strategy, tmp_path):
    search, expected = MATH_CASES[strategy]
    result, llm = await run(math_task(), tmp_path, None, strategy, Responder(), search=search)
    _assert_run_dir(result)
    assert result.solution in ("42", "43")
    if expected is not None:
        assert result.solution == expected
        assert result.grade["correct"] is (expected == "42")
    assert result.budget["spent"]["sandbox_runs"] == 0


async def test_self_consistency_takes_the_majority_answer(tmp_path):
    result, llm = await run(
        math_task(), tmp_path, None, "self_consistency", Responder(), search={"n": 5}
    )
    assert len(llm.calls) == 1 and llm.calls[0][1].n == 5  # one call, five samples
    assert result.solution == "42"
    assert result.verdicts["majority"]["score"] == pytest.approx(0.8)


async def test_dvts_keeps_one_continuation_per_subtree(tmp_path):
    search = {"subtrees": 2, "k": 2, "max_depth": 2}
    result, llm = await run(math_task(), tmp_path, None, "dvts", Responder(), search=search)
    from ponder.tree import ThoughtTree

    tree = ThoughtTree.load(f"{result.run_dir}/tree.json")
    forks = [n for n in tree.children(tree.root_id) if n.kind == "thought"]
    assert len(forks) == 2  # the fork: one first step per subtree, both kept
    for fork in forks:
        grown = [n for n in tree.children(fork.id) if n.kind == "thought"]
        assert len(grown) == 2  # k continuations proposed in the subtree...
        assert sum(n.status != "pruned" for n in grown) == 1  # ...and only its best goes on
