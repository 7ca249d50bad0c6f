"""Collective verifiers (majority, chooser) judge every candidate so far, never a piece."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ponder.agents import Draft
from ponder.verifiers.base import is_collective
from ponder.verifiers.chooser import ChooserVerifier
from ponder.verifiers.majority import MajorityVerifier
from tests.search.conftest import FakeVerifier, run, search_context
from tests.search.scripted import GOOD, Responder, math_task


class CollectiveFake(FakeVerifier):
    collective = True


def _verdicts(result, name: str) -> dict[str, dict]:
    """Each candidate's verdict by `name`, from the run's tree.json."""
    tree = json.loads((Path(result.run_dir) / "tree.json").read_text())
    return {
        n["id"]: n["verdicts"][name]
        for n in tree["graph"]["nodes"]
        if n["kind"] == "candidate" and name in n["verdicts"]
    }


def test_majority_and_chooser_are_collective_and_others_are_not():
    assert MajorityVerifier.collective and ChooserVerifier.collective
    assert is_collective(MajorityVerifier()) and not is_collective(FakeVerifier())


def test_a_composite_is_collective_when_one_of_its_parts_is():
    from ponder.verifiers.composite import CompositeVerifier

    with_vote = CompositeVerifier(
        {"fake": 1.0, "majority": 1.0},
        parts={"fake": FakeVerifier(), "majority": MajorityVerifier()},
    )
    without = CompositeVerifier({"fake": 1.0}, parts={"fake": FakeVerifier()})
    assert is_collective(with_vote) and not is_collective(without)


async def test_verify_hands_a_collective_verifier_every_parsable_candidate():
    ctx, _ = search_context()
    root = ctx.tree.root_id
    first = ctx.add_candidate(root, Draft(GOOD, "def add(a, b): ..."))
    ctx.add_candidate(root, Draft("prose", None, parse_error="no code block"))
    second = ctx.add_candidate(root, Draft(GOOD, "def add(a, b): ..."))

    piecewise = FakeVerifier()
    assert list(await ctx.verify([second], piecewise)) == [second]
    assert [[c.id for c in batch] for batch in piecewise.batches] == [[second]]

    collective = CollectiveFake()
    assert list(await ctx.verify([second], collective)) == [first, second]
    assert [[c.id for c in batch] for batch in collective.batches] == [[first, second]]


async def test_refine_votes_over_every_candidate_so_far(tmp_path):
    # 43 first, then two refinements to 42: the vote is 1 of 3 against 2 of 3.
    result, _ = await run(
        math_task(), tmp_path, None, "refine", Responder(), search={"max_rounds": 2}
    )
    votes = _verdicts(result, "majority")
    assert len(votes) == 3
    assert {v["details"]["of"] for v in votes.values()} == {3}
    assert sorted(v["score"] for v in votes.values()) == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert result.solution == "42"


async def test_magicore_votes_over_refined_and_first_candidates(tmp_path):
    # k=2 gives 43 and 42 (hard); both are refined to 42, then all four are voted on.
    search = {"k": 2, "refine_top": 2, "max_rounds": 1}
    result, _ = await run(math_task(), tmp_path, None, "magicore", Responder(), search=search)
    votes = _verdicts(result, "majority")
    assert len(votes) == 4
    assert {v["details"]["of"] for v in votes.values()} == {4}
    assert result.solution == "42" and result.stop_reason.startswith("easy")


class ChoosingResponder(Responder):
    """Answers the chooser with its last candidate, and notes how many it was shown."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[int] = []

    def __call__(self, messages, params):
        last = messages[-1]["content"]
        match = re.search(r"Which candidate \(1 to (\d+)\)", last)
        if match:
            self.shown.append(int(match.group(1)))
            return [match.group(1)]
        return super().__call__(messages, params)


async def test_magicore_shows_the_chooser_every_candidate(tmp_path):
    responder = ChoosingResponder()
    search = {"k": 2, "refine_top": 2, "max_rounds": 1}
    result, _ = await run(
        math_task(), tmp_path, None, "magicore", responder, search=search, verifiers=["chooser"]
    )
    assert responder.shown == [2, 4]  # the first two, then those two and their refinements
    chosen = [c for c, v in _verdicts(result, "chooser").items() if v["score"] == 1.0]
    assert chosen == [result.candidate_id]
