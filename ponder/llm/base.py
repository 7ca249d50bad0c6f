"""The one async interface every model backend implements, and its typed request/response."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, TypedDict


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. `n` completions come back from one call."""

    n: int = 1
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False

    def cache_key(self) -> dict:
        return {
            "n": self.n,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": list(self.stop),
            "seed": self.seed,
            "logprobs": self.logprobs,
        }

    @property
    def deterministic(self) -> bool:
        """True when the same request must give the same answer (so it can be cached)."""
        return self.temperature == 0.0 or self.seed is not None


@dataclass
class TokenLogprob:
    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass
class Completion:
    """One sampled completion."""

    text: str
    finish_reason: str  # "stop" | "length" | ...
    completion_tokens: int
    logprobs: list[TokenLogprob] | None = None


@dataclass
class Generation:
    """The answer to one call: `n` completions plus what the call cost."""

    completions: list[Completion]
    prompt_tokens: int
    model: str
    seconds: float = 0.0
    cached: bool = False

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.completions)

    @property
    def text(self) -> str:
        """The first completion's text (the common n=1 case)."""
        return self.completions[0].text


class LLM(ABC):
    """A chat model. Backends implement `_generate`; callers use `generate`.

    `name` is the model string that selected this backend (it keys the response cache).
    `batches` says whether n samples cost about one forward pass (vLLM, servers) or n.
    """

    name: str = "llm"
    batches: bool = False

    @abstractmethod
    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        """Sample `params.n` completions for one chat."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the model or connections."""
