"""The `majority` verifier: how many candidates reach the same final answer (math-verify equivalence).

A program-aided candidate's answer is the value its program printed (run in the sandbox,
once per program); a program that errors, prints nothing parseable or has no sandbox to run
in casts no vote. Ties between answers are broken by `cluster_ranks`: more votes first, then
the answer whose first candidate came first, so the same candidates always pick the same answer.
"""

from __future__ import annotations

import asyncio

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.kinds.answers import extract_answer, same_answer
from ponder.sandbox.base import Sandbox
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.programs import program_of, runner_for
from ponder.verifiers.registry import register_verifier


def cluster_answers(answers: list[str | None]) -> list[int | None]:
    """Group equivalent answers: the cluster index of each answer (None for no answer)."""
    representatives: list[str] = []
    labels: list[int | None] = []
    for answer in answers:
        if answer is None:
            labels.append(None)
            continue
        label = next((k for k, rep in enumerate(representatives) if same_answer(rep, answer)), None)
        if label is None:
            representatives.append(answer)
            label = len(representatives) - 1
        labels.append(label)
    return labels


def cluster_ranks(labels: list[int | None]) -> dict[int, int]:
    """Each cluster's place in the vote (0 wins): by votes, then by its first candidate's
    position. Clusters are numbered in order of first appearance, so the label is that position."""
    clusters = {label for label in labels if label is not None}
    ordered = sorted(clusters, key=lambda k: (-labels.count(k), k))
    return {label: rank for rank, label in enumerate(ordered)}


@register_verifier("majority")
class MajorityVerifier:
    """Self-consistency as a verifier: score = share of candidates whose final answer is
    equivalent to this one's (math-verify decides equivalence). passed is None.

    details: `votes`, `of`, `answer` (the printed value for a program), `cluster`, `rank`
    (0 = the winning answer, ties broken as the module says), `program`.
    """

    name = "majority"
    collective = True  # a vote means something only over every candidate

    def __init__(self, sandbox: Sandbox | None = None, budget: Budget | None = None) -> None:
        self.runner = runner_for(sandbox, budget) if sandbox is not None else None

    async def _answer(self, candidate: Candidate) -> tuple[str | None, str]:
        """The answer a candidate votes for, and why it has none."""
        program = program_of(candidate.answer)
        if program is None:
            answer = candidate.answer or extract_answer(candidate.text)
            return answer, "" if answer else "no final answer found"
        if self.runner is None:
            return None, "a program-aided answer, but no sandbox to run it in"
        run = await self.runner.run(program)
        return run.answer, "" if run.answer is not None else run.feedback()

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        if task.kind != "math":
            raise ConfigError(
                f"the majority verifier compares final answers, but task {task.id} is {task.kind!r}",
                fix="use tests, judge or chooser for code tasks",
            )
        found = await asyncio.gather(*(self._answer(c) for c in candidates))
        answers = [answer for answer, _ in found]
        labels = cluster_answers(answers)
        ranks = cluster_ranks(labels)
        n = len(candidates)
        verdicts = []
        for c, (answer, why), label in zip(candidates, found, labels, strict=True):
            program = program_of(c.answer) is not None
            if label is None:
                verdicts.append(
                    Verdict(
                        score=0.0,
                        feedback=why,  # no vote: the reason it has no answer
                        details={"votes": 0, "of": n, "answer": None, "program": program},
                    )
                )
                continue
            votes = labels.count(label)
            verdicts.append(
                Verdict(
                    score=votes / n,
                    feedback=f"{votes} of {n} candidates agree on {answer}",
                    details={
                        "votes": votes,
                        "of": n,
                        "answer": answer,
                        "cluster": label,
                        "rank": ranks[label],
                        "program": program,
                    },
                )
            )
        return verdicts
