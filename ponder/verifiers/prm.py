"""The `prm` verifier: a process reward model scores each step; an aggregate scores the candidate."""

from __future__ import annotations

from typing import Any

from ponder.budget import Budget
from ponder.prm.base import ScoreRequest, StepScorer, open_scorer
from ponder.prm.steps import aggregate, code_steps, split_steps
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.registry import register_verifier


def candidate_steps(task: VisibleTask, candidate: Candidate, split: str = "auto") -> list[str]:
    """Code: the path's thoughts, then the program as the last step. Math: the given steps
    (plus the final text when it adds to them), else the text split by `split`."""
    if task.kind == "code":
        return code_steps(candidate.steps, candidate.text)
    steps = [s for s in candidate.steps if s.strip()]
    if not steps:
        return split_steps(candidate.text, split)
    text = candidate.text.strip()
    return steps + [text] if text and text not in steps and text != "\n".join(steps) else steps


@register_verifier("prm")
class PRMVerifier:
    """Scores every step with a PRM backend (`hf`, `http`, `judge` or a plug-in).

    score = aggregate (`min`, `last`, `prod`, `mean`) of the step scores; passed is None (an
    opinion); feedback names the weakest step, for a Reviewer to aim at.
    """

    name = "prm"

    def __init__(
        self,
        backend: str = "hf",
        scorer: StepScorer | None = None,
        model: Any = None,
        budget: Budget | None = None,
        aggregation: str = "min",
        split: str = "auto",
        **backend_options: Any,
    ) -> None:
        aggregate([1.0], aggregation)  # fail now on an unknown aggregation name
        split_steps("", split)
        if scorer is None:
            if backend == "judge":
                backend_options |= {"model": model, "budget": budget}
            scorer = open_scorer(backend, **backend_options)
        self.scorer = scorer
        self.aggregation = aggregation
        self.split = split

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        requests = [
            ScoreRequest(task.prompt, tuple(candidate_steps(task, c, self.split)))
            for c in candidates
        ]
        all_scores = await self.scorer.score(requests)
        verdicts = []
        for req, scores in zip(requests, all_scores, strict=True):
            scores = [min(1.0, max(0.0, s)) for s in scores]
            worst = min(range(len(scores)), key=scores.__getitem__)
            score = aggregate(scores, self.aggregation)
            verdicts.append(
                Verdict(
                    score=score,
                    step_scores=scores,
                    feedback=f"PRM ({self.aggregation}) = {score:.2f}; weakest step {worst + 1} "
                    f"(P = {scores[worst]:.2f}): {req.steps[worst][:200]}",
                    details={
                        "backend": self.scorer.name,
                        "aggregation": self.aggregation,
                        "weakest_step": worst + 1,
                        "steps": len(scores),
                    },
                )
            )
        return verdicts
