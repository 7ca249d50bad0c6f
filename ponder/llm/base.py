"""The one async interface every model backend implements, and its typed request/response."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

from ponder.errors import ConfigError


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

    def __post_init__(self) -> None:
        problems = [
            f"{name}={value!r} ({rule})"
            for name, value, ok, rule in (
                ("n", self.n, self.n >= 1, "at least 1"),
                ("max_tokens", self.max_tokens, self.max_tokens >= 1, "at least 1"),
                ("temperature", self.temperature, self.temperature >= 0.0, "0 or more"),
                ("top_p", self.top_p, 0.0 < self.top_p <= 1.0, "in (0, 1]"),
            )
            if not ok
        ]
        if problems:
            raise ConfigError(
                "invalid sampling parameters: " + ", ".join(problems),
                fix="pass n >= 1, max_tokens >= 1, temperature >= 0 and 0 < top_p <= 1",
            )
        if isinstance(self.stop, str | list):
            object.__setattr__(
                self, "stop", (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
            )

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the response cache stores this)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Generation:
        completions = [
            Completion(
                text=c["text"],
                finish_reason=c["finish_reason"],
                completion_tokens=c["completion_tokens"],
                logprobs=None
                if c.get("logprobs") is None
                else [TokenLogprob(**lp) for lp in c["logprobs"]],
            )
            for c in data["completions"]
        ]
        return cls(
            completions=completions,
            prompt_tokens=data["prompt_tokens"],
            model=data["model"],
            seconds=data.get("seconds", 0.0),
            cached=data.get("cached", False),
        )


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
