"""MCTS over whole candidates (`expand="candidates"`, repair's search on the core strategy) and
its progressive widening, through the compiled graph: the expansions, the review that feeds
the Refiner's rewrites, backpropagation, selection recomputed from the stored statistics,
budget stops, and resume after a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ponder.config import RunConfig
from ponder.errors import ConfigError
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.runner import resume_run, solve_task
from ponder.search import get_strategy
from ponder.tree import Node, ThoughtTree
from ponder.verifiers.base import Verdict
from tests.search.conftest import FakeVerifier, InstantSandbox, run
from tests.search.history import final_tree, only, phases, tree_at
from tests.search.scripted import BAD, BAD_PLAN, GOOD, Responder, code_task

CRITIQUE = "CRITIQUE-4e2a: the function subtracts b where it should add it."
SUBTRACT = "```python\ndef add(a, b):\n    return a - b - 0\n```"  # another wrong program


class CandidateResponder:
    """The Solver writes `first` (greedy and sampled alike), the Reviewer answers CRITIQUE,
    the Refiner writes `fix`."""

    def __init__(self, first: str = BAD, fix: str = GOOD) -> None:
        self.first = first
        self.fix = fix

    def __call__(self, messages, params) -> list[str]:
        last = messages[-1]["content"]
        if last.startswith("Fix the following"):
            return [self.fix] * params.n
        if "fails its tests" in last or "may be wrong" in last:
            return [CRITIQUE]
        if last.startswith("Complete the following Python function"):
            return [self.first] * params.n
        return ["(unscripted prompt)"]


class IdVerifier:
    """Scores a candidate by its node id (so the tree's statistics vary); never passes."""

    name = "byid"
    SCORES = (0.0, 0.4, 0.0, 0.7, 0.2, 0.0, 0.9)

    async def verify(self, task, candidates):
        return [
            Verdict(
                score=self.SCORES[int(c.id[1:]) % len(self.SCORES)],
                passed=False,
                feedback=f"AssertionError ({c.id})",
            )
            for c in candidates
        ]


@pytest.fixture(autouse=True)
def _verifiers(register_verifier):
    register_verifier("fake", FakeVerifier)
    register_verifier("never", lambda: FakeVerifier(lambda c: 0.0))
    register_verifier("byid", IdVerifier)


def config(search: dict, verifiers: list[str], **extra) -> RunConfig:
    return RunConfig(
        strategy="mcts",
        search={"expand": "candidates", **search},
        model="scripted",
        sandbox="local",
        verifiers=verifiers,
        budget=extra.pop("budget", {"tokens": None}),
        checkpoint_every=extra.pop("checkpoint_every", "phase"),
        **extra,
    )


async def solve(tmp_path, search, verifiers, responder=None, sandbox=None, **extra):
    llm = ScriptedLLM(responder or CandidateResponder())
    result = await solve_task(
        code_task(),
        config(search, verifiers, **extra),
        model=ModelClient(llm),
        sandbox=sandbox or InstantSandbox(),
        out_dir=tmp_path / "mcts",
    )
    return result, llm, final_tree(result.run_dir), Path(result.run_dir)


def prompt(call) -> str:
    return call[0][-1]["content"]


def valued(tree: ThoughtTree) -> list[Node]:
    return [n for n in tree.nodes() if "value" in n.meta]


# ------------------------------------------------------------------ candidate expansion


async def test_candidates_expand_review_revise_and_stop_on_a_pass(tmp_path, local_sandbox):
    result, llm, tree, run_dir = await solve(
        tmp_path, {"k": 3, "max_iterations": 5}, ["tests"], sandbox=local_sandbox
    )
    root = tree.root
    # The root's first expansion: one greedy candidate, then k-1 sampled in one call.
    first, sampled, review, revise = llm.calls
    assert prompt(first).startswith("Complete") and prompt(sampled).startswith("Complete")
    assert (first[1].n, first[1].temperature) == (1, 0.0)
    assert sampled[1].n == 2 and sampled[1].temperature > 0.0
    kids = tree.children(root.id)
    assert [k.kind for k in kids] == ["candidate"] * 3
    assert all("a - b" in k.text for k in kids)
    assert all(k.passed is False and k.meta["value"] == 0.0 for k in kids)
    # The best failing candidate (ties: the oldest) was reviewed, and only it.
    greedy = kids[0]
    assert greedy.critique == CRITIQUE and not any(k.critique for k in kids[1:])
    assert "fails its tests" in prompt(review)
    # The next iteration expanded it by the Refiner's sampled rewrites, fed its critique and
    # its test feedback.
    assert prompt(revise).startswith("Fix the following")
    assert CRITIQUE in prompt(revise) and greedy.feedback and greedy.feedback in prompt(revise)
    assert revise[1].n == 3 and revise[1].temperature > 0.0
    rewrites = tree.children(greedy.id)
    assert len(rewrites) == 3
    assert all(r.kind == "candidate" and r.meta["refined_from"] == greedy.id for r in rewrites)
    assert all(r.passed is True and r.depth == 2 for r in rewrites)
    assert greedy.meta["expansions"] == 1 and root.meta["expansions"] == 1
    # The search stopped on the pass: two iterations, no further call.
    assert len(llm.calls) == 4 and result.iterations == 2
    assert result.stop_reason == "a candidate passed every public test"
    assert result.passed_public and result.candidate_id == rewrites[0].id
    # Every evaluated candidate was backed up once.
    assert root.visits == len(valued(tree)) == 6
    assert root.value_sum == pytest.approx(3.0)
    assert greedy.visits == 4 and greedy.value_sum == pytest.approx(3.0)
    runs = phases(run_dir)
    assert [r.phase for r in runs] == [
        *("select", "expand", "execute", "score", "review", "refine", "backpropagate"),
        *("select", "expand", "execute", "score", "backpropagate", "finalize"),
    ]


async def test_rethinks_per_iteration_picks_the_best_failing_candidates(tmp_path):
    _, llm, tree, run_dir = await solve(
        tmp_path,
        {"k": 3, "max_iterations": 1, "rethinks_per_iteration": 2},
        ["byid"],
    )
    kids = tree.children(tree.root_id)  # n1, n2, n3: scores 0.4, 0.0, 0.7
    assert [k.meta["value"] for k in kids] == [0.4, 0.0, 0.7]
    (review,) = only(phases(run_dir), "review")
    assert review.before["failing"] == [kids[2].id, kids[0].id]
    assert [bool(k.critique) for k in kids] == [True, False, True]
    assert tree.root.visits == 3 and tree.root.value_sum == pytest.approx(1.1)


async def test_candidates_at_max_depth_are_neither_reviewed_nor_expanded(tmp_path):
    result, llm, tree, _ = await solve(
        tmp_path,
        {"k": 1, "max_iterations": 10, "max_depth": 2},
        ["never"],
        CandidateResponder(fix=SUBTRACT),
    )
    (n1,) = tree.children(tree.root_id)
    (n2,) = tree.children(n1.id)
    assert n2.depth == 2 and n2.passed is False and not n2.critique
    assert "expansions" not in n2.meta and not tree.children(n2.id)
    assert result.stop_reason.startswith("the tree is fully explored")
    assert result.iterations == 2 and len(llm.calls) == 3  # complete, review, revise
    assert tree.root.visits == 2


# ------------------------------------------------------------------ progressive widening


async def test_widening_expands_a_node_whose_children_scored_zero_again(tmp_path):
    result, llm, tree, run_dir = await solve(
        tmp_path,
        {"k": 2, "max_iterations": 20, "widening": True, "max_expansions": 3, "rethink": False},
        ["never"],
    )
    root = tree.root
    # All children scored zero: the root was expanded again until max_expansions, never a child.
    assert root.meta["expansions"] == 3
    assert [(p[1].n, p[1].temperature > 0) for p in llm.calls] == [
        (1, False),
        (1, True),
        (2, True),
        (2, True),
    ]
    kids = tree.children(root.id)
    assert len(kids) == 6 and all(not tree.children(k.id) for k in kids)
    assert result.iterations == 3 and root.visits == 6
    assert result.stop_reason == (
        "the tree is fully explored (every node at max_depth and max_expansions or without "
        "live children)"
    )
    frontiers = [
        r.after["frontier"] for r in only(phases(run_dir), "select") if r.after["next"] == "expand"
    ]
    assert frontiers == [[root.id]] * 3


async def test_without_widening_a_zero_scored_root_is_expanded_once(tmp_path):
    _, llm, tree, _ = await solve(
        tmp_path, {"k": 2, "max_iterations": 3, "rethink": False}, ["never"]
    )
    assert tree.root.meta["expansions"] == 1
    (n1, n2) = tree.children(tree.root_id)
    assert n1.meta["expansions"] == 1  # the next iterations descended into the children
    assert [prompt(c)[:3] for c in llm.calls] == ["Com", "Com", "Fix", "Fix"]


def reference_leaf(tree: ThoughtTree, c: float, max_depth: int, max_expansions: int) -> str | None:
    """The node progressive widening selects, recomputed independently from the stored tree
    (SWE-Search's rule, as the repair MCTS that this option replaced stated it)."""
    spent: set[str] = set()

    def own(n: Node) -> float:
        return n.score or 0.0

    def descend() -> str | None:
        node = tree.root
        while True:
            live = [
                k
                for k in tree.children(node.id)
                if k.parse_error is None and k.score is not None and k.id not in spent
            ]
            done = node.meta.get("expansions", 0)
            can_expand = node.depth < max_depth and done < max_expansions
            if not live or all(own(k) == 0.0 for k in live):
                if can_expand:
                    return node.id
                spent.add(node.id)
                return None
            visits = max(1, node.visits)

            def score(k: Node, visits: int = visits) -> float:
                mean = k.value_sum / k.visits if k.visits else 0.0
                return mean + c * math.sqrt(math.log(visits + 1) / (k.visits + 1))

            widen = 0.5 * max(map(own, live)) + c * math.sqrt(math.log(visits + 1) / (done + 1))
            best = max(live, key=score)  # the first of equals: the oldest
            if can_expand and (widen > score(best) or best.depth >= max_depth):
                return node.id
            if best.depth >= max_depth:
                spent.add(best.id)
                return None
            node = best

    while tree.root_id not in spent:
        leaf = descend()
        if leaf is not None:
            return leaf
    return None


@pytest.mark.parametrize("c", [0.3, 1.0])
async def test_widening_selections_follow_the_rule(c, tmp_path):
    search = {
        "k": 2,
        "max_iterations": 12,
        "max_depth": 3,
        "widening": True,
        "max_expansions": 2,
        "c": c,
    }
    result, _, tree, run_dir = await solve(tmp_path, search, ["byid"])
    runs = phases(run_dir)
    selects = only(runs, "select")
    leaves = []
    for r in selects:
        before = tree_at(run_dir, r.before["tree_seq"])
        expected = reference_leaf(before, c, 3, 2)
        if r.after["next"] == "expand":
            assert r.after["frontier"] == [expected], r.before["tree_seq"]
            node = before.node(expected)
            live = [k for k in before.children(expected) if k.score is not None]
            leaves.append((node.depth, node.meta.get("expansions", 0), live))
        else:
            assert expected is None or result.iterations == 12
    # Some selections widened a node with children scoring above zero, some went deeper.
    assert any(done and any(k.score for k in live) for _, done, live in leaves)
    assert any(depth >= 2 for depth, _, _ in leaves)
    for node in tree.nodes():
        assert node.meta.get("expansions", 0) <= 2, node.id
        assert node.depth <= 3 and (node.depth < 3 or "expansions" not in node.meta)
    assert tree.root.visits == len(valued(tree))
    assert tree.root.value_sum == pytest.approx(sum(n.meta["value"] for n in valued(tree)))


# ------------------------------------------------------------------ budget and resume


async def test_a_budget_stop_backs_up_every_valued_candidate(tmp_path):
    search = {"k": 2, "max_iterations": 10, "widening": True, "rethinks_per_iteration": 2}
    full, llm, _, _ = await solve(tmp_path / "full", search, ["byid"])
    assert len(llm.calls) > 8
    for calls in range(1, len(llm.calls)):
        result, _, tree, _ = await solve(
            tmp_path / str(calls), search, ["byid"], budget={"tokens": None, "llm_calls": calls}
        )
        assert result.stop_reason.startswith("budget"), calls
        assert tree.root.visits == len(valued(tree)), calls
        assert all(n.meta.get("backed_up") for n in valued(tree)), calls


class Crash(RuntimeError):
    """The process 'dies' here."""


class CrashAt(ScriptedLLM):
    def __init__(self, crash_at: int) -> None:
        super().__init__(CandidateResponder(fix=SUBTRACT))
        self.crash_at = crash_at

    async def generate(self, messages, params):
        if len(self.calls) + 1 == self.crash_at:
            raise Crash(f"call {self.crash_at}")
        return await super().generate(messages, params)


def tree_record(run_dir: Path) -> list[tuple]:
    data = json.loads((run_dir / "tree.json").read_text())
    return sorted(
        (
            n["id"],
            n["parent"],
            n["kind"],
            n["text"],
            n["status"],
            n["critique"],
            n["visits"],
            round(n["value_sum"], 9),
            n["meta"].get("expansions"),
            n["meta"].get("value"),
        )
        for n in data["graph"]["nodes"]
    )


RESUME_SEARCH = {"k": 2, "max_iterations": 6, "widening": True, "max_expansions": 2}


@pytest.mark.parametrize("grain", ["phase", "iteration"])
@pytest.mark.parametrize("crash_at", [2, 4, 7])
async def test_resume_after_a_crash_ends_in_the_uninterrupted_tree(grain, crash_at, tmp_path):
    cfg = config(RESUME_SEARCH, ["byid"], checkpoint_every=grain)
    ref_llm = CrashAt(0)
    reference = await solve_task(
        code_task(),
        cfg,
        model=ModelClient(ref_llm),
        sandbox=InstantSandbox(),
        out_dir=tmp_path / "ref",
    )
    assert len(ref_llm.calls) > crash_at + 2
    run_dir = tmp_path / "run"
    with pytest.raises(Crash):
        await solve_task(
            code_task(), cfg, model=ModelClient(CrashAt(crash_at)), sandbox=InstantSandbox(),
            out_dir=run_dir,
        )  # fmt: skip
    assert not (run_dir / "result.json").exists()
    resumed = await resume_run(run_dir, model=ModelClient(CrashAt(0)), sandbox=InstantSandbox())
    assert resumed.resumed
    ref_dir = Path(reference.run_dir)
    assert tree_record(run_dir) == tree_record(ref_dir)
    assert any(n[-2] and n[-2] > 1 for n in tree_record(run_dir))  # a node was widened
    assert (resumed.candidate_id, resumed.iterations, resumed.stop_reason) == (
        reference.candidate_id,
        reference.iterations,
        reference.stop_reason,
    )


# ------------------------------------------------------------------ options


def test_an_unknown_expand_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="expand"):
        get_strategy("mcts", {"expand": "patches"})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"expand": "candidates", "step_scorer": "judge"}, "step_scorer"),
        ({"widening": True}, "widening"),
        ({"expand": "candidates", "widening": True, "rule": "puct"}, "UCT"),
    ],
)
def test_options_candidate_mode_cannot_take_are_config_errors(options, match):
    with pytest.raises(ConfigError, match=match) as info:
        get_strategy("mcts", options)
    assert info.value.fix


def test_the_defaults_are_the_thought_search():
    strategy = get_strategy("mcts", {})
    assert strategy.options.expand == "thoughts" and strategy.options.widening is False
    assert strategy.options.max_expansions == 3


async def test_default_mcts_still_searches_thoughts(tmp_path):
    result, _ = await run(
        code_task(),
        tmp_path,
        InstantSandbox(),
        "mcts",
        Responder(plans=(BAD_PLAN,)),
        search={"k": 2, "max_iterations": 1, "root_rollout": False, "rethink": False},
        verifiers=["never"],
        budget={"tokens": None},
    )
    tree = final_tree(result.run_dir)
    assert {k.kind for k in tree.children(tree.root_id)} == {"thought"}
