"""The `majority` verifier: how many candidates reach the same final answer (math-verify equivalence)."""

from __future__ import annotations

from ponder.errors import ConfigError
from ponder.task import VisibleTask
from ponder.verifiers.answers import extract_answer, same_answer
from ponder.verifiers.base import Candidate, Verdict
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


@register_verifier("majority")
class MajorityVerifier:
    """Self-consistency as a verifier: score = share of candidates whose final answer is
    equivalent to this one's (math-verify decides equivalence). passed is None.
    """

    name = "majority"
    collective = True  # a vote means something only over every candidate

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        if task.kind != "math":
            raise ConfigError(
                f"the majority verifier compares final answers, but task {task.id} is {task.kind!r}",
                fix="use tests, judge or chooser for code tasks",
            )
        answers = [c.answer or extract_answer(c.text) for c in candidates]
        labels = cluster_answers(answers)
        n = len(candidates)
        verdicts = []
        for answer, label in zip(answers, labels, strict=True):
            if label is None:
                verdicts.append(
                    Verdict(
                        score=0.0, feedback="no final answer found", details={"votes": 0, "of": n}
                    )
                )
                continue
            votes = labels.count(label)
            verdicts.append(
                Verdict(
                    score=votes / n,
                    feedback=f"{votes} of {n} candidates agree on {answer}",
                    details={"votes": votes, "of": n, "answer": answer, "cluster": label},
                )
            )
        return verdicts
