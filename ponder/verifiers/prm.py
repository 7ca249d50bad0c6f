"""The `prm` verifier: a process reward model scores each step; an aggregate scores the candidate."""

from __future__ import annotations

import os
from typing import Any

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.prm.base import ScoreRequest, StepScorer, open_scorer
from ponder.prm.steps import aggregate, code_steps, split_steps
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict
from ponder.verifiers.registry import register_verifier

PRM_ENV = "PONDER_PRM"


def _squash(text: str) -> str:
    return "".join(text.split())


def candidate_steps(task: VisibleTask, candidate: Candidate, split: str = "auto") -> list[str]:
    """The steps to score. A candidate whose text is just its steps (a partial path, as beam
    search sends, or a solution already split) is its steps; a code candidate is its path's thoughts then the program; a math candidate is its
    steps plus its final text, or its text split by `split` when it has no steps."""
    steps = [s for s in candidate.steps if s.strip()]
    text = candidate.text.strip()
    if steps and (not text or _squash(text) == _squash("".join(steps))):
        return steps
    if task.kind == "code":
        return code_steps(steps, candidate.text)
    if not steps:
        return split_steps(candidate.text, split)
    return steps + [text] if text not in steps else steps


def parse_prm_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """`hf:DIR`, `http://HOST:PORT` (or `http:URL`), `judge` -> (backend, options)."""
    if spec.startswith(("http://", "https://")):
        return "http", {"url": spec}
    backend, _, arg = spec.partition(":")
    if backend == "hf" and arg:
        return "hf", {"path": arg}
    if backend == "http" and arg:
        return "http", {"url": arg}
    if backend == "judge" and not arg:
        return "judge", {}
    raise ConfigError(
        f"bad PRM spec {spec!r}",
        fix="use hf:DIR (a transformers PRM or `ponder prm train` output), http://HOST:PORT "
        "(a vLLM pooling server) or judge (the policy model)",
    )


@register_verifier("prm")
class PRMVerifier:
    """Scores every step with a PRM backend (`hf`, `http`, `judge` or a plug-in scorer).

    `prm` is a spec (`hf:DIR`, `http://HOST:PORT`, `judge`; default $PONDER_PRM), or pass an
    opened `scorer` (open it once per run: loading a model is slow). score = aggregate (`min`,
    `last`, `prod`, `mean`) of the step scores; passed is None (an opinion); feedback names
    the weakest step, for a Reviewer to aim at.
    """

    name = "prm"

    def __init__(
        self,
        prm: str | None = None,
        scorer: StepScorer | None = None,
        model: Any = None,
        budget: Budget | None = None,
        aggregation: str = "min",
        split: str = "auto",
        device: str | None = None,
    ) -> None:
        aggregate([1.0], aggregation)  # fail now on an unknown aggregation name
        split_steps("", split)
        if scorer is None:
            spec = prm or os.environ.get(PRM_ENV)
            if not spec:
                raise ConfigError(
                    "the prm verifier has no PRM to call",
                    fix=f"set {PRM_ENV}=hf:DIR | http://HOST:PORT | judge, or pass prm=...",
                )
            backend, options = parse_prm_spec(spec)
            if backend == "judge":
                options |= {"model": model, "budget": budget}
            if backend == "hf" and device:
                options["device"] = device
            scorer = open_scorer(backend, **options)
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
