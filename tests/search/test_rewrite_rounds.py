"""A rewrite round asks something new. A greedy rewrite of a text already rewritten repeats
that rewrite word for word (refine's best candidate again, when no rewrite beat it; a rewrite
that copied its parent, which magicore refines next): such a rewrite is sampled instead."""

from __future__ import annotations

from ponder.llm.base import Message, SamplingParams
from tests.search.conftest import run, search_context
from tests.search.scripted import BAD, Responder, math_task

WRONG = "20 + 22 = 43\nThe answer is \\boxed{43}"
RIGHT = "20 + 22 = 42\nThe answer is \\boxed{42}"


class GreedyRewriteRepeats(Responder):
    """The greedy rewrite repeats the wrong answer (a program or 43); only a sampled one
    finds 42."""

    def __call__(self, messages: list[Message], params: SamplingParams) -> list[str]:
        last = messages[-1]["content"]
        if "Write a corrected solution" in last:
            return [WRONG if params.temperature == 0 else RIGHT] * params.n
        if last.startswith("Fix the following") and params.temperature == 0:
            return [BAD] * params.n
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


async def test_a_rewrite_that_copied_its_parent_is_not_rewritten_greedily_again():
    ctx, llm = search_context(GreedyRewriteRepeats())
    (first,) = await ctx.complete(ctx.tree.root_id, n=1, greedy=True)
    (copy,) = await ctx.revise(first)
    assert ctx.node(copy).text == ctx.node(first).text  # the greedy rewrite changed nothing
    (other,) = await ctx.revise(copy)  # magicore's next round: the leaf, same text
    (again,) = await ctx.revise(first)  # refine's next round: the best, again
    rewrites = _calls(llm, "Fix the following")
    assert [p.temperature == 0 for p in rewrites] == [True, False, False]
    assert rewrites[1].seed != rewrites[2].seed
    assert "a + b" in ctx.node(other).text and "a + b" in ctx.node(again).text


async def test_a_rewrite_that_copied_its_parent_gets_the_parents_critique():
    ctx, llm = search_context(GreedyRewriteRepeats())
    (first,) = await ctx.complete(ctx.tree.root_id, n=1, greedy=True)
    await ctx.verify([first])
    critique = await ctx.review(first)
    (copy,) = await ctx.revise(first)
    await ctx.verify([copy])
    assert ctx.node(copy).text == ctx.node(first).text
    assert ctx.node(copy).feedback == ctx.node(first).feedback
    # magicore reviews the copy next: the same greedy prompt would return the same critique.
    assert (await ctx.review(copy)).text == critique.text
    assert len(_calls(llm, "This Python function")) == 1
    assert ctx.node(copy).critique == critique.text
