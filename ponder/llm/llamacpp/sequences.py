"""The state of one request in the batching engine and of each sequence it samples."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from ponder.llm.base import Completion, Generation, SamplingParams, TokenLogprob
from ponder.llm.llamacpp.native import Sampler
from ponder.llm.sampling import trim_at_stop


class StopText:
    """A sequence's text so far, and whether it now contains one of the stop strings."""

    def __init__(self, stop: tuple[str, ...]) -> None:
        self.stop = tuple(s for s in stop if s)
        self._longest = max((len(s) for s in self.stop), default=0)
        self._raw = bytearray()
        self._checked = 0  # text length already searched for stops

    def push(self, piece: bytes) -> bool:
        """Add a token's bytes; True once a stop string appears."""
        self._raw += piece
        if not self.stop:
            return False
        text = self.text_untrimmed
        window = text[max(0, self._checked - self._longest + 1) :]
        self._checked = len(text)
        return any(s in window for s in self.stop)

    @property
    def text_untrimmed(self) -> str:
        # An unfinished UTF-8 sequence at the end is dropped, as llama-cpp-python does.
        return self._raw.decode("utf-8", errors="ignore")

    @property
    def text(self) -> str:
        return trim_at_stop(self.text_untrimmed, self.stop)[0]


@dataclass(eq=False)
class Sample:
    """One decoding sequence: its seq id, sampler chain, tokens and text."""

    seq: int
    sampler: Sampler
    limit: int  # most tokens it may generate (max_tokens, capped by the context)
    pos: int  # position its pending token is decoded at
    text: StopText
    logprobs: list[TokenLogprob] | None = None
    tokens: list[int] = field(default_factory=list)
    pending: int | None = None  # sampled, not yet decoded
    finish_reason: str | None = None

    def completion(self) -> Completion:
        return Completion(
            text=self.text.text,
            finish_reason=self.finish_reason or "stop",
            completion_tokens=len(self.tokens),
            logprobs=self.logprobs,
        )


@dataclass(eq=False)
class Request:
    """One engine request: a prompt, the seeds of the sequences to run, and where to answer."""

    prompt: list[int]
    params: SamplingParams
    seeds: list[int]  # one per sequence run (one for greedy: its text serves all n)
    copies: int  # completions returned per sequence run
    limit: int
    want_logprobs: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    prompt_seq: int | None = None  # holds the prompt's KV; becomes a prefix-cache entry
    evaluated: int = 0  # prompt tokens in prompt_seq's KV
    reused: int = 0  # of them, copied from the prefix cache
    reserved: int = 0  # KV cells promised to this request
    last_logits: np.ndarray | None = None  # of the last prompt token, kept with the prompt
    samples: list[Sample] = field(default_factory=list)
    done: bool = False

    @property
    def prefilled(self) -> bool:
        return self.evaluated == len(self.prompt)

    @property
    def finished(self) -> bool:
        return self.prefilled and all(s.finish_reason for s in self.samples)

    def generation(self, model: str) -> Generation:
        completions = [s.completion() for s in self.samples for _ in range(self.copies)]
        return Generation(completions=completions, prompt_tokens=len(self.prompt), model=model)


def token_logprob(logits: np.ndarray, token: int, top: int, text_of) -> TokenLogprob:
    """The chosen token's log-probability under the raw logits, and the `top` most likely."""
    shifted = logits - logits.max()
    logz = float(np.log(np.exp(shifted).sum()))
    best = np.argpartition(-shifted, top)[:top] if top else np.array([], dtype=int)
    return TokenLogprob(
        token=text_of(token),
        logprob=float(shifted[token]) - logz,
        top={text_of(int(i)): float(shifted[i]) - logz for i in best},
    )
