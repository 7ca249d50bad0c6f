"""What agents share: sampling settings and the Draft (a parsed candidate or thought)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class AgentSettings(BaseModel):
    """How agents sample. Thoughts are short plan steps; candidates are whole programs or solutions."""

    thought_max_tokens: int = Field(64, ge=1)
    candidate_max_tokens: int = Field(512, ge=1)
    critique_max_tokens: int = Field(128, ge=1)
    sample_temperature: float = Field(0.8, ge=0.0)
    greedy_temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)


@dataclass
class Draft:
    """One parsed reply: raw text, the extracted answer (code or final answer) or why it failed."""

    text: str
    answer: str | None
    steps: list[str] = field(default_factory=list)
    parse_error: str | None = None
    tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.parse_error is None
