"""The verifier protocol and its typed inputs (candidates) and outputs (verdicts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from ponder.task import VisibleTask


class Candidate(BaseModel):
    """What a verifier judges: a complete program or final answer, and the thoughts behind it.

    `id` is optional bookkeeping (e.g. the tree node id); verifiers never need it.
    """

    text: str
    steps: list[str] = Field(default_factory=list)
    answer: str | None = None
    id: str | None = None


class Verdict(BaseModel):
    """A verifier's judgement of one candidate.

    `score` in [0, 1]; `passed` is True/False when the verifier can know (tests), None when
    it cannot (an opinion); `step_scores` holds one score per step when the verifier scores
    steps; `feedback` is text for a reviewer; `details` anything else worth recording.
    """

    score: float = Field(ge=0.0, le=1.0)
    passed: bool | None = None
    step_scores: list[float] | None = None
    feedback: str = ""
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def unknown(cls, feedback: str, **details: Any) -> Verdict:
        """A neutral verdict for when the verifier could not judge."""
        return cls(score=0.5, passed=None, feedback=feedback, details=details)


@runtime_checkable
class Verifier(Protocol):
    """Scores a batch of candidates for one task; returns one verdict per candidate, in order.

    Verifiers see only the `VisibleTask`. Batch form because some (majority, chooser) need
    all candidates at once; the others map over them. Those that judge only as a set declare
    the class attribute `collective = True`, and searches then hand them every candidate so far,
    not just the new ones; a verifier without the attribute is not collective (it is left out
    of the protocol's members, so plug-ins written before it still conform). See
    `is_collective`.
    """

    name: str

    async def verify(self, task: VisibleTask, candidates: list[Candidate]) -> list[Verdict]: ...


def is_collective(verifier: object) -> bool:
    """Whether `verifier` judges candidates only as a set (a vote, a choice): False by default."""
    return bool(getattr(verifier, "collective", False))
