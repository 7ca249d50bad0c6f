"""refine's later rounds ask something new: when the greedy rewrite did not beat the best
candidate, the best is the same one again, and a greedy rewrite of it would repeat itself."""

from __future__ import annotations

from ponder.llm.base import Message, SamplingParams
from tests.search.conftest import run
from tests.search.scripted import Responder, math_task

WRONG = "20 + 22 = 43\nThe answer is \\boxed{43}"
RIGHT = "20 + 22 = 42\nThe answer is \\boxed{42}"


class GreedyRewriteRepeats(Responder):
    """The greedy rewrite repeats the wrong answer; only a sampled rewrite finds 42."""

    def __call__(self, messages: list[Message], params: SamplingParams) -> list[str]:
        if "Write a corrected solution" in messages[-1]["content"]:
            return [WRONG if params.temperature == 0 else RIGHT] * params.n
        return super().__call__(messages, params)


def _calls(llm, marker: str) -> list[SamplingParams]:
    return [params for messages, params in llm.calls if marker in messages[-1]["content"]]


async def test_refine_samples_a_new_rewrite_when_the_greedy_one_did_not_help(tmp_path):
    result, llm = await run(
        math_task(), tmp_path, None, "refine", GreedyRewriteRepeats(), search={"max_rounds": 3}
    )
    rewrites = _calls(llm, "Write a corrected solution")
    assert [p.temperature == 0 for p in rewrites] == [True, False, False]
    assert len({p.seed for p in rewrites[1:]}) == 2  # each round a new draw
    # The best candidate keeps its first critique: reviewing it again would repeat it.
    assert len(_calls(llm, "Check each step")) == 1
    assert result.solution == "42"
