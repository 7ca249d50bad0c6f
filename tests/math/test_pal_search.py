"""Program-aided math through the compiled graph (`solve_task`) with a scripted model; the
canary test: no prompt and no sandbox job of a program-aided search holds the reference answer.

The programs really run (the local sandbox here; the docker test at the end uses Docker);
what is asserted is what the search did with what they printed.
"""

from __future__ import annotations

import json

import pytest

from ponder.agents.base import AgentSettings
from ponder.config import RunConfig
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.runner import solve_task
from ponder.search import known_strategies
from ponder.tree import ThoughtTree
from ponder.verifiers.programs import program_of
from tests.math.scripted import (
    CRASH,
    RIGHT,
    RIGHT_OTHER,
    STEP_BAD,
    STEP_GOOD,
    WRONG,
    PalResponder,
    block,
)
from tests.search.conftest import RecordingSandbox
from tests.search.scripted import CANARY_ANSWER, math_task, math_task_with_canary_answer

PAL = AgentSettings(math_mode="pal")


async def solve(tmp_path, sandbox, strategy, responder, task=None, name=None, **config):
    llm = ScriptedLLM(responder)
    cfg = RunConfig(strategy=strategy, model="scripted", sandbox="local", **config)
    cfg.agents = config.get("agents", PAL)
    out = tmp_path / (name or strategy)
    result = await solve_task(
        task or math_task(), cfg, model=ModelClient(llm), sandbox=sandbox, out_dir=out
    )
    return result, llm, ThoughtTree.load(out / "tree.json")


def _prompts(llm) -> list[str]:
    return [m["content"] for messages, _ in llm.calls for m in messages]


async def test_greedy_runs_the_program_and_grades_what_it_printed(local_sandbox, tmp_path):
    sandbox = RecordingSandbox(local_sandbox)
    result, llm, _ = await solve(tmp_path, sandbox, "greedy", PalResponder((RIGHT,)))
    assert program_of(result.solution) is not None  # the answer is the program
    assert result.verdicts["majority"]["details"]["answer"] == "42"
    assert result.grade["correct"] is True and result.grade["details"]["predicted"] == "42"
    assert "with a short Python program" in _prompts(llm)[0]
    assert any("print(total)" in (job.code or "") for job in sandbox.jobs[:-1])  # in search
    assert result.budget["spent"]["sandbox_runs"] >= 1


async def test_a_wrong_program_is_graded_wrong(local_sandbox, tmp_path):
    result, _, _ = await solve(tmp_path, local_sandbox, "greedy", PalResponder((WRONG,)))
    assert result.grade["correct"] is False and result.grade["details"]["predicted"] == "43"


async def test_prose_mode_needs_no_sandbox(tmp_path):
    prose = AgentSettings(math_mode="prose")
    result, llm, _ = await solve(tmp_path, None, "greedy", PalResponder(), agents=prose)
    assert result.solution == "42" and result.grade["correct"] is True
    assert "with a short Python program" not in _prompts(llm)[0]


async def test_self_consistency_votes_printed_values_not_program_texts(local_sandbox, tmp_path):
    # Three different programs print 42 (42, 42.0, 42); two identical ones crash; one prints 43.
    programs = (CRASH, RIGHT, WRONG, RIGHT_OTHER, CRASH, block("print(6 * 7)"))
    result, _, tree = await solve(
        tmp_path, local_sandbox, "self_consistency", PalResponder(programs), search={"n": 6}
    )
    assert result.grade["correct"] is True
    votes = {n.id: n.verdicts["majority"] for n in tree.candidates()}
    crashed = [v for v in votes.values() if "failed" in v["feedback"]]
    assert len(crashed) == 2 and all(v["score"] == 0.0 for v in crashed)  # no vote
    assert sorted(v["details"]["votes"] for v in votes.values()) == [0, 0, 1, 3, 3, 3]


@pytest.mark.parametrize(
    ("programs", "printed"),
    [
        ((WRONG, RIGHT), "43"),  # one vote each: the answer seen first wins
        ((RIGHT, WRONG), "42"),
        ((CRASH, CRASH, CRASH, block("print(41)")), "41"),  # errors cast no vote
    ],
)
async def test_vote_ties_and_errors_are_settled_by_the_rule(
    programs, printed, local_sandbox, tmp_path
):
    result, _, _ = await solve(
        tmp_path,
        local_sandbox,
        "self_consistency",
        PalResponder(programs),
        search={"n": len(programs)},
    )
    assert result.verdicts["majority"]["details"]["answer"] == printed
    assert result.grade["details"]["predicted"] == printed


async def test_mixed_mode_votes_over_programs_and_prose(local_sandbox, tmp_path):
    # Programs alone: 43, 42, a crash, 43 again; 43 wins the vote. In mixed mode half the
    # samples reason in prose instead, and the answer reached both ways (42) wins.
    responder = PalResponder(programs=(WRONG, RIGHT, CRASH))
    alone, _, _ = await solve(
        tmp_path, local_sandbox, "self_consistency", responder, name="pal", search={"n": 4}
    )
    assert alone.verdicts["majority"]["details"]["answer"] == "43"

    mixed = AgentSettings(math_mode="mixed")
    result, llm, tree = await solve(
        tmp_path, local_sandbox, "self_consistency", PalResponder(programs=(WRONG, RIGHT, CRASH)),
        name="mixed", search={"n": 4}, agents=mixed,
    )  # fmt: skip
    asked = [(params.n, "short Python program" in messages[-1]["content"])
             for messages, params in llm.calls]  # fmt: skip
    assert sorted(asked) == [(2, False), (2, True)]  # two programs, two prose solutions
    kinds = [program_of(c.answer) is not None for c in tree.candidates()]
    assert kinds == [True, False, True, False]  # in turn, a program first
    assert result.verdicts["majority"]["details"]["answer"] == "42"
    assert result.grade["correct"] is True


async def test_mixed_mode_continues_a_path_of_code_steps_as_a_program():
    from ponder.agents.solver import Solver
    from ponder.budget import Budget

    llm = ScriptedLLM(PalResponder())
    solver = Solver(ModelClient(llm), AgentSettings(math_mode="mixed"))
    drafts = await solver.complete(math_task().view(), ["# a\na = 20"], n=2, budget=Budget())
    assert len(llm.calls) == 1 and all(program_of(d.answer) for d in drafts)
    assert "Begin the program with these steps" in llm.calls[0][0][-1]["content"]


async def test_mixed_mode_answers_greedy_with_a_program(local_sandbox, tmp_path):
    mixed = AgentSettings(math_mode="mixed")
    result, llm, _ = await solve(tmp_path, local_sandbox, "greedy", PalResponder(), agents=mixed)
    assert program_of(result.solution) is not None
    assert "with a short Python program" in _prompts(llm)[0]


async def test_mcts_values_a_step_whose_code_fails_at_zero(local_sandbox, tmp_path):
    sandbox = RecordingSandbox(local_sandbox)
    search = {
        "max_iterations": 2,
        "k": 2,
        "root_rollout": False,
        "step_scorer": "executes",
        "step_weight": 1.0,  # the step score alone: what execution says about the step
        "rethink": False,
    }
    responder = PalResponder(programs=(RIGHT,), steps=(STEP_GOOD, STEP_BAD))
    result, _, tree = await solve(tmp_path, sandbox, "mcts", responder, search=search)
    thoughts = [n for n in tree.nodes() if n.kind == "thought"]
    good = [t for t in thoughts if "a, b = 20, 22" in t.text and t.depth == 1]
    bad = [t for t in thoughts if "a / 0" in t.text]
    assert good and bad
    assert all(t.verdicts["executes"]["score"] == 1.0 for t in good)
    # A step that fails on its own (depth 1: no earlier step defines `a`) or after good ones.
    assert all(t.verdicts["executes"]["step_scores"][-1] == 0.0 for t in bad)
    assert all(t.meta["value"] == 0.0 for t in bad) and all(t.meta["value"] == 1.0 for t in good)
    assert any("c = a / 0" in (job.code or "") for job in sandbox.jobs)  # steps ran
    assert result.grade["correct"] is True


async def test_beam_prunes_the_step_whose_code_fails(local_sandbox, tmp_path):
    search = {"width": 1, "k": 2, "max_depth": 2, "scorer": "executes"}
    responder = PalResponder(programs=(RIGHT,), steps=(STEP_BAD, STEP_GOOD))
    result, _, tree = await solve(tmp_path, local_sandbox, "beam", responder, search=search)
    kept = [n for n in tree.nodes() if n.kind == "thought" and n.status != "pruned"]
    assert kept and all("a / 0" not in n.text for n in kept if n.depth == 1)
    pruned = [n for n in tree.nodes() if n.status == "pruned"]
    assert any("a / 0" in n.text for n in pruned)
    assert result.grade["correct"] is True


async def test_mcts_default_run_is_program_aided(local_sandbox, tmp_path):
    # `ponder solve gsm8k/N --strategy mcts` in small: candidates are programs that ran.
    sandbox = RecordingSandbox(local_sandbox)
    responder = PalResponder(programs=(WRONG, RIGHT), steps=(STEP_GOOD,))
    result, llm, tree = await solve(
        tmp_path, sandbox, "mcts", responder, search={"max_iterations": 2, "k": 1}
    )
    candidates = tree.candidates()
    assert candidates and all(program_of(c.answer) for c in candidates if c.parse_error is None)
    assert any("one step at a time" in p for p in _prompts(llm))  # code-augmented steps
    assert len(sandbox.jobs) >= 2


@pytest.mark.parametrize(
    ("strategy", "option"), [("mcts", "step_scorer"), ("beam", "scorer"), ("dvts", "scorer")]
)
async def test_program_aided_tree_search_scores_steps_by_execution(
    strategy, option, local_sandbox, tmp_path
):
    responder = PalResponder(programs=(RIGHT,), steps=(STEP_BAD, STEP_GOOD))
    search = {"max_iterations": 2} if strategy == "mcts" else {"max_depth": 1}
    result, _, tree = await solve(tmp_path, local_sandbox, strategy, responder, search=search)

    recorded = json.loads((tmp_path / strategy / "config.json").read_text())["config"]["search"]
    assert recorded[option] == "executes"  # the kind's default, recorded with the run
    assert any("executes" in n.verdicts for n in tree.nodes() if n.kind == "thought")


async def test_prose_math_keeps_the_strategy_defaults(tmp_path):
    from ponder.runner import with_kind_defaults
    from tests.search.scripted import math_task as make_task

    config = RunConfig(strategy="beam", agents=AgentSettings(math_mode="prose"))
    assert "scorer" not in with_kind_defaults(make_task(), config).search


EXECUTED_STEPS = [
    ("mcts", {"step_scorer": "executes"}),
    ("beam", {"scorer": "executes"}),
    ("dvts", {"scorer": "executes"}),
]


@pytest.mark.parametrize(
    ("strategy", "search"), [(s, {}) for s in known_strategies()] + EXECUTED_STEPS
)
async def test_program_aided_search_never_sees_the_reference_answer(
    strategy, search, local_sandbox, tmp_path
):
    sandbox = RecordingSandbox(local_sandbox)
    responder = PalResponder(programs=(RIGHT, WRONG, CRASH), steps=(STEP_GOOD, STEP_BAD))
    task = math_task_with_canary_answer()
    result, llm, _ = await solve(tmp_path, sandbox, strategy, responder, task=task, search=search)
    for prompt in _prompts(llm):
        assert CANARY_ANSWER not in prompt, strategy
    assert sandbox.jobs, "program-aided search ran programs in the sandbox"
    for job in sandbox.jobs:  # grading compares on the host: no job ever holds the answer
        text = "\n".join([job.code or "", job.stdin, *job.files.values(), *job.command])
        assert CANARY_ANSWER not in text and CANARY_ANSWER not in job.secret, strategy
    assert result.grade is not None and result.grade["graded"] and not result.grade["correct"]


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_program_aided_mcts_through_the_docker_sandbox(docker_sandbox, tmp_path):
    sandbox = RecordingSandbox(docker_sandbox)
    responder = PalResponder(programs=(CRASH, RIGHT), steps=(STEP_GOOD, STEP_BAD))
    search = {"max_iterations": 2, "k": 2, "step_scorer": "executes"}
    result, _, tree = await solve(tmp_path, sandbox, "mcts", responder, search=search)
    assert sandbox.jobs and result.budget["spent"]["sandbox_runs"] >= 2
    crashed = [
        c
        for c in tree.candidates()
        if c.verdicts.get("majority", {}).get("details", {}).get("program")
        and "ZeroDivisionError" in c.verdicts["majority"]["feedback"]
    ]
    assert crashed, "a crashing program's error came back from the container"
    bad = [n for n in tree.nodes() if n.kind == "thought" and "a / 0" in n.text]
    assert bad and all(t.verdicts["executes"]["step_scores"][-1] == 0.0 for t in bad)
    assert result.grade["correct"] is True and result.grade["details"]["program"] is True


@pytest.mark.parametrize("strategy", ["beam", "dvts"])
async def test_beam_searches_keep_room_for_an_answer(strategy, local_sandbox, tmp_path):
    # A budget smaller than one round of steps at their token cap: the beams are completed
    # from the root at once (the direct answer), instead of steps that leave nothing to return.
    responder = PalResponder(programs=(RIGHT,), steps=(STEP_GOOD,))
    search = {"max_depth": 3}
    result, _, tree = await solve(
        tmp_path, local_sandbox, strategy, responder, search=search, budget={"tokens": 20}
    )
    assert result.solution is not None and result.grade["correct"] is True
    assert not [n for n in tree.nodes() if n.kind == "thought"]
    # With room for some rounds of steps, the search takes them and still answers.
    result, _, tree = await solve(
        tmp_path, local_sandbox, strategy, responder, search=search, budget={"tokens": 300},
        name=f"{strategy}-roomy",
    )  # fmt: skip
    assert result.solution is not None and result.grade["correct"] is True
    assert [n for n in tree.nodes() if n.kind == "thought"]
