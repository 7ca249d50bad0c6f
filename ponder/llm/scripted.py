"""A deterministic test double: answers from a script. For the test suite only, never a default."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams

Responder = Callable[[list[Message], SamplingParams], Sequence[str]]


def _count_tokens(text: str) -> int:
    # A stable stand-in for a tokenizer: about one token per 4 characters.
    return max(1, len(text) // 4)


class ScriptedLLM(LLM):
    """Replies with scripted texts.

    `script` is either a list of replies handed out in order (cycling when exhausted),
    or a function from (messages, params) to the `n` replies for that call.
    Every call is recorded in `calls` so tests can inspect prompts.
    """

    batches = True

    def __init__(self, script: Sequence[str] | Responder, name: str = "scripted") -> None:
        self.name = name
        self._script = script
        self._next = 0
        self.calls: list[tuple[list[Message], SamplingParams]] = []

    def _replies(self, messages: list[Message], params: SamplingParams) -> list[str]:
        if callable(self._script):
            replies = list(self._script(messages, params))
            if len(replies) < params.n:
                replies = (replies * params.n)[: params.n] if replies else [""] * params.n
            return replies[: params.n]
        script = list(self._script)
        out = []
        for _ in range(params.n):
            out.append(script[self._next % len(script)] if script else "")
            self._next += 1
        return out

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        self.calls.append((list(messages), params))
        prompt = "".join(m["content"] for m in messages)
        completions = []
        for text in self._replies(messages, params):
            for s in params.stop:
                if s and s in text:
                    text = text[: text.index(s)]
            completions.append(
                Completion(text=text, finish_reason="stop", completion_tokens=_count_tokens(text))
            )
        return Generation(
            completions=completions, prompt_tokens=_count_tokens(prompt), model=self.name
        )
