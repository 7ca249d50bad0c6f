"""The `generated_tests` verifier: candidates run on model-written inputs, ranked by dual agreement.

CodeT, with the self-generated tests of the reflection papers: the model writes test inputs
and, in a second call, the values it expects (`suite`); every candidate runs on those inputs in
the judge (`testcalls`), with the public tests in the same job; candidates are grouped by what
they did and ranked by dual agreement (`agreement`). Public tests weigh more than generated
ones, and a generated expectation counts only through the group that matches it.
"""

from __future__ import annotations

import asyncio
import hashlib

from ponder.budget import Budget
from ponder.errors import BudgetExhausted, ConfigError
from ponder.llm.client import ModelClient
from ponder.sandbox.base import Limits, Sandbox
from ponder.task import VisibleTask
from ponder.testcalls import run_calls
from ponder.verifiers.agreement import (
    PUBLIC_WEIGHT,
    Behaviour,
    Standing,
    agreement_score,
    behaviour_digest,
    describe,
    disagreements,
    standings,
)
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.mutation import with_mutants
from ponder.verifiers.registry import register_verifier
from ponder.verifiers.suite import Suite, affordable_inputs, write_suite


@register_verifier("generated_tests")
class GeneratedTestsVerifier:
    """Score = (public_weight * public fraction + dual agreement) / (public_weight + 1), or the
    dual agreement alone when the task has no public tests; dual agreement is the candidate's
    group size times (1 + expected values it matches), over its most: n * (1 + checked).

    `passed` is False when a public test fails, else None: generated tests never pass a
    candidate alone. `details["confirmed"]` says whether the generated tests back a candidate
    that passes its public tests (it matches every expected value, or its group is the top
    one with at least `quorum` members); searches keep looking while it is False.

    Per run (one instance): the suite is written once per task (two model calls, charged to
    the budget; `n_inputs` inputs, fewer when the budget left pays for fewer, plus
    `n_mutants` inputs mutated from the known ones, which cost no tokens and carry no
    expected value) and each distinct program runs once (one sandbox job); later, larger
    pools reuse both.
    """

    name = "generated_tests"
    collective = True  # agreement means something only over every candidate

    def __init__(
        self,
        sandbox: Sandbox,
        model: ModelClient,
        budget: Budget | None = None,
        n_inputs: int = 8,
        per_call_s: float = 5.0,
        public_weight: float = PUBLIC_WEIGHT,
        quorum: int = 3,
        max_tokens: int = 512,
        n_mutants: int = 16,
    ) -> None:
        self.sandbox = sandbox
        self.model = model
        self.budget = budget
        self.n_inputs = n_inputs
        self.per_call_s = per_call_s
        self.public_weight = public_weight
        self.quorum = quorum
        self.max_tokens = max_tokens
        self.n_mutants = n_mutants
        self._suites: dict[str, Suite] = {}
        self._behaviours: dict[tuple[str, str], Behaviour] = {}
        self._lock = asyncio.Lock()

    def _inputs_to_write(self, task: VisibleTask, alternatives: bool) -> int:
        """How many inputs the budget left pays for, with the tokens to act on what they
        say: one more candidate, unless there are already different candidates to choose
        among. A tight budget gets a smaller suite; 0 when even two inputs would not fit:
        tests that cannot change the answer are not worth their tokens."""
        left = self.budget.remaining_completion_tokens() if self.budget else None
        if left is None:
            return self.n_inputs
        act = 0 if alternatives else self.budget.expected_sample_tokens(self.max_tokens)
        return affordable_inputs(task, left, act, self.n_inputs, self.max_tokens)

    async def suite(self, task: VisibleTask, alternatives: bool = True) -> Suite:
        """The task's generated tests, written on first use (one model call each part)."""
        async with self._lock:
            if task.id not in self._suites:
                n = self._inputs_to_write(task, alternatives)
                if not n:
                    return Suite(
                        note="too little budget left to write generated tests and act on them"
                    )
                try:
                    suite = await write_suite(task, self.model, self.budget, n, self.max_tokens)
                except BudgetExhausted:
                    # Judge by the public tests alone; a later call with budget may still write it.
                    return Suite(note="no budget left to write generated tests")
                self._suites[task.id] = with_mutants(suite, task, self.n_mutants)
            return self._suites[task.id]

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        if task.kind != "code":
            raise ConfigError(
                f"the generated_tests verifier runs code, but task {task.id} is {task.kind!r}",
                fix="use majority, judge or chooser for math tasks",
            )
        if not candidates:
            return []
        suite = await self.suite(task, alternatives=len({c.text for c in candidates}) > 1)
        found = await asyncio.gather(*(self.behaviour(task, suite, c) for c in candidates))
        ran = [i for i, b in enumerate(found) if isinstance(b, Behaviour)]
        pool = [found[i] for i in ran]
        places = dict(zip(ran, standings(pool, suite), strict=True))
        verdicts = []
        for i, b in enumerate(found):
            if not isinstance(b, Behaviour):
                verdicts.append(Verdict.unknown(b))
                continue
            verdicts.append(self._verdict(ran.index(i), pool, places[i], suite))
        return verdicts

    async def behaviour(
        self, task: VisibleTask, suite: Suite, candidate: Candidate
    ) -> Behaviour | str:
        """What the candidate did on the public tests and generated inputs (a Behaviour), or
        why it could not be run (a str). One sandbox job per distinct program per run."""
        tests = task.public_tests
        calls = suite.calls
        blob = "\0".join([candidate.text, *calls])  # a suite written later runs it again
        digest = hashlib.sha256(blob.encode()).hexdigest()
        cached = self._behaviours.get((task.id, digest))
        if cached is not None:
            return cached
        timeout = min(90.0, 10.0 + self.per_call_s * (len(tests) + len(calls)))
        run = await run_calls(
            self.sandbox,
            candidate.text,
            calls,
            Limits(timeout_s=timeout),
            self.per_call_s,
            tests=tests,
            helpers=task.prompt,
            entry_point=task.entry_point,
        )
        result = run.exec_result
        if self.budget is not None and result is not None:
            self.budget.record_sandbox(result.duration_s)
        if run.sandbox_error:
            return f"the sandbox failed: {result.note or result.stderr[-300:]}"
        found = Behaviour(
            public=tuple(run.extra),
            keys=tuple(o.key for o in run.outcomes),
            shown=tuple(o.shown for o in run.outcomes),
        )
        self._behaviours[(task.id, digest)] = found
        return found

    def _verdict(self, index: int, pool: list[Behaviour], place: Standing, suite: Suite) -> Verdict:
        mine = pool[index]
        n = len(pool)
        score = agreement_score(
            place.size, place.matched, suite.checked, n, mine.public, self.public_weight
        )
        public_ok = all(mine.public)
        backed = (suite.checked > 0 and place.matched == suite.checked) or (
            place.rank == 0 and place.size >= self.quorum
        )
        confirmed = public_ok and (not suite.tests or backed)
        rows = disagreements(index, pool, suite)
        feedback = describe(rows, place, n, suite) if suite.tests else suite.note
        if mine.public and not public_ok:
            failed = [i + 1 for i, ok in enumerate(mine.public) if not ok]
            feedback = f"fails public test(s) {failed}\n{feedback}"
        return Verdict(
            score=score,
            passed=False if mine.public and not public_ok else None,
            feedback=feedback,
            details={
                "inputs": suite.calls,
                "outputs": list(mine.shown),
                "keys": list(mine.keys),
                "expected": [t.expected for t in suite.tests],
                "public": list(mine.public),
                "group": place.group,
                "behaviour": behaviour_digest(mine),
                "votes": place.size,
                "of": n,
                "matched": place.matched,
                "checked": suite.checked,
                "dual": place.dual,
                "rank": place.rank,
                "confirmed": confirmed,
                "disagreements": rows,
                "note": suite.note,
            },
        )
