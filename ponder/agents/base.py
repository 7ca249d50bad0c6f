"""What agents share: sampling settings and the Draft (a parsed candidate or thought)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from ponder.llm.base import SamplingParams

MathMode = Literal["auto", "pal", "prose", "mixed"]


class AgentSettings(BaseModel):
    """How agents sample. Thoughts are short plan steps; candidates are whole programs or solutions."""

    thought_max_tokens: int = Field(64, ge=1)
    candidate_max_tokens: int = Field(512, ge=1)
    critique_max_tokens: int = Field(128, ge=1)
    sample_temperature: float = Field(0.8, ge=0.0)
    greedy_temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    math_mode: MathMode = Field(
        "auto",
        description="math answers: pal (a Python program run in the sandbox prints the answer; "
        "steps carry code), prose (reasoning with a boxed answer), mixed (sampled candidates "
        "alternate between programs and prose, so a vote compares answers reached two ways; "
        "greedy answers and thoughts as pal), or auto (pal when the run has a sandbox, decided "
        "where the sandbox is opened; prose if left unresolved)",
    )

    def sampling(self, n: int, max_tokens: int, greedy: bool, seed: int | None) -> SamplingParams:
        """A call's sampling: greedy (greedy_temperature, no nucleus cut) or sampled."""
        return SamplingParams(
            n=n,
            max_tokens=max_tokens,
            temperature=self.greedy_temperature if greedy else self.sample_temperature,
            top_p=1.0 if greedy else self.top_p,
            seed=seed,
        )

    def program_aided(self) -> bool:
        """Whether math prompts ask for programs (an unresolved `auto` asks for prose)."""
        return self.math_mode in ("pal", "mixed")

    def resolved(self, has_sandbox: bool) -> AgentSettings:
        """These settings with `auto` decided: pal when a sandbox runs the programs."""
        if self.math_mode != "auto":
            return self
        return self.model_copy(update={"math_mode": "pal" if has_sandbox else "prose"})


@dataclass
class Draft:
    """One parsed reply: raw text, the extracted answer (code or final answer) or why it failed."""

    text: str
    answer: str | None
    steps: list[str] = field(default_factory=list)
    parse_error: str | None = None
    tokens: int = 0
    state: dict[str, Any] = field(default_factory=dict)  # what the kind keeps on the node (a patch)

    @property
    def ok(self) -> bool:
        return self.parse_error is None
