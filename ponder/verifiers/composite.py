"""The `composite` verifier: a weighted mean of other verifiers' verdicts."""

from __future__ import annotations

import asyncio
from typing import Any

from ponder.errors import ConfigError
from ponder.task import VisibleTask
from ponder.verifiers.base import Candidate, Verdict, Verifier, is_collective
from ponder.verifiers.registry import get_verifier, register_verifier


def combine(parts: dict[str, Verdict], weights: dict[str, float]) -> Verdict:
    """Weighted mean score; passed False if any part failed, True if one passed and none
    failed; step scores from the parts that have them (mean where lengths match)."""
    total = sum(weights[name] for name in parts)
    score = sum(weights[name] * v.score for name, v in parts.items()) / total
    flags = [v.passed for v in parts.values()]
    passed = False if False in flags else (True if True in flags else None)
    step_lists = [v.step_scores for v in parts.values() if v.step_scores]
    step_scores = None
    if step_lists:
        length = len(step_lists[0])
        same = [s for s in step_lists if len(s) == length]
        step_scores = [sum(col) / len(same) for col in zip(*same, strict=True)]
    feedback = "\n".join(f"[{name}] {v.feedback}" for name, v in parts.items() if v.feedback)
    return Verdict(
        score=min(1.0, max(0.0, score)),
        passed=passed,
        step_scores=step_scores,
        feedback=feedback,
        details={"parts": {name: v.model_dump() for name, v in parts.items()}},
    )


def verdict_parts(verdicts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A node's recorded verdicts by verifier name, a composite's parts taken apart (a
    composite holds no composite, so one level is all there is)."""
    parts: dict[str, dict[str, Any]] = {}
    for name, verdict in verdicts.items():
        inner = (verdict.get("details") or {}).get("parts")
        parts |= inner if isinstance(inner, dict) else {name: verdict}
    return parts


@register_verifier("composite")
class CompositeVerifier:
    """Runs named verifiers (built from the same context) and combines them by weight.

    Build it with `get_verifier("composite", weights={"tests": 0.7, "judge": 0.3}, ...)`,
    or pass ready verifiers as `parts={"tests": verifier, ...}`.
    """

    name = "composite"

    def __init__(
        self,
        weights: dict[str, float],
        parts: dict[str, Verifier] | None = None,
        sandbox: Any = None,
        model: Any = None,
        budget: Any = None,
        **options: Any,
    ) -> None:
        if not weights:
            raise ConfigError("composite verifier without parts", fix="pass weights={'tests': 1}")
        bad = {n: w for n, w in weights.items() if w < 0}
        if bad or sum(weights.values()) <= 0:
            raise ConfigError(
                f"composite weights must be >= 0 and not all 0, got {weights}",
                fix="e.g. --verifier tests:0.7 --verifier judge:0.3",
            )
        if "composite" in weights:
            raise ConfigError("a composite cannot contain itself", fix="list the parts instead")
        self.weights = dict(weights)
        parts = dict(parts or {})
        ctx = {"sandbox": sandbox, "model": model, "budget": budget} | options
        ctx = {k: v for k, v in ctx.items() if v is not None}
        self.parts = {n: parts.get(n) or get_verifier(n, **ctx) for n in self.weights}
        # A vote inside the mix needs the whole set, so the composite is judged as one too.
        self.collective = any(is_collective(v) for v in self.parts.values())

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]:
        names = list(self.parts)
        results = await asyncio.gather(*(self.parts[n].verify(task, candidates) for n in names))
        return [
            combine({n: results[k][i] for k, n in enumerate(names)}, self.weights)
            for i in range(len(candidates))
        ]
