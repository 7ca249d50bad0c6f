"""Backend for any OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, SGLang, OpenAI)."""

from __future__ import annotations

import os
from typing import Any

import openai

from ponder.errors import ConfigError, LLMConnectionError
from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob
from ponder.llm.retry import RetryPolicy, retry_async
from ponder.llm.sampling import sample_seeds

LOCAL_DUMMY_KEY = "sk-no-key-needed"
SERVER_FIX = (
    "start the server (e.g. `python -m llama_cpp.server --model MODEL.gguf --port 8080` or "
    "`vllm serve MODEL`) or correct the URL in --model openai:MODEL@URL"
)


def is_transient(exc: BaseException) -> bool:
    """Connection failures, timeouts, 429 and 5xx are worth retrying; other errors are not."""
    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):
        return True  # APITimeoutError is an APIConnectionError
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _split_tokens(total: int, texts: list[str]) -> list[int]:
    """Share a response's completion-token total among its choices by text length."""
    if len(texts) == 1:
        return [total]
    weights = [max(1, len(t)) for t in texts]
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)
    return shares


class OpenAIChat(LLM):
    """Chat completions over HTTP. Asks for `n` samples in one request; servers that return
    fewer (llama.cpp's ignores `n`) are asked again with derived seeds until `n` arrive."""

    batches = True

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        name: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        retry: RetryPolicy | None = None,
        top_logprobs: int = 5,
    ) -> None:
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key is None and base_url is None:
            raise ConfigError(
                f"openai:{model} has no server URL and OPENAI_API_KEY is not set",
                fix="export OPENAI_API_KEY=..., or name a local server: openai:MODEL@http://HOST:PORT/v1",
            )
        self.model = model
        self.base_url = base_url
        self.name = name or (f"openai:{model}@{base_url}" if base_url else f"openai:{model}")
        self.retry = retry or RetryPolicy()
        self.top_logprobs = top_logprobs
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=key or LOCAL_DUMMY_KEY, timeout=timeout_s, max_retries=0
        )

    @property
    def where(self) -> str:
        return self.base_url or str(self._client.base_url)

    async def _request(
        self, messages: list[Message], params: SamplingParams, n: int, seed: int | None
    ) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": n,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if seed is not None:
            kwargs["seed"] = seed
        if params.logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = self.top_logprobs
        try:
            return await retry_async(
                lambda: self._client.chat.completions.create(**kwargs), self.retry, is_transient
            )
        except openai.APIError as exc:
            raise self._explain(exc) from exc

    def _explain(self, exc: openai.APIError) -> Exception:
        """Turn an openai error into a PonderError naming the server and the fix."""
        if is_transient(exc):
            return LLMConnectionError(
                f"model server {self.where} (model {self.model!r}) failed after "
                f"{self.retry.attempts} attempts: {type(exc).__name__}: {exc}",
                fix=SERVER_FIX,
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ConfigError(
                f"model server {self.where} refused the API key: {exc}",
                fix="export OPENAI_API_KEY with a valid key for this server",
            )
        if isinstance(exc, openai.NotFoundError):
            return ConfigError(
                f"model server {self.where} does not serve model {self.model!r}: {exc}",
                fix=f"list the served models with `curl {self.where.rstrip('/')}/models` "
                "and use one of them in --model openai:MODEL@URL",
            )
        return ConfigError(
            f"model server {self.where} rejected the request for {self.model!r}: {exc}",
            fix="check the sampling options (max tokens vs. context length, stop, logprobs)",
        )

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        completions: list[Completion] = []
        prompt_tokens = 0
        seeds = sample_seeds(params)
        while len(completions) < params.n:
            resp = await self._request(
                messages, params, params.n - len(completions), seeds[len(completions)]
            )
            if not resp.choices:
                raise LLMConnectionError(
                    f"model server {self.where} returned no choices for {self.model!r}",
                    fix=SERVER_FIX,
                )
            usage = resp.usage
            prompt_tokens = prompt_tokens or (usage.prompt_tokens if usage else 0)
            texts = [c.message.content or "" for c in resp.choices]
            counts = _split_tokens(usage.completion_tokens if usage else 0, texts)
            for choice, text, count in zip(resp.choices, texts, counts, strict=True):
                lps = _logprobs(choice) if params.logprobs else None
                completions.append(
                    Completion(
                        text=text,
                        finish_reason=choice.finish_reason or "stop",
                        completion_tokens=len(lps) if lps else count,
                        logprobs=lps,
                    )
                )
        return Generation(
            completions=completions[: params.n], prompt_tokens=prompt_tokens, model=self.name
        )

    async def aclose(self) -> None:
        await self._client.close()


def _logprobs(choice: Any) -> list[TokenLogprob] | None:
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    return [
        TokenLogprob(
            token=t.token,
            logprob=t.logprob,
            top={alt.token: alt.logprob for alt in (t.top_logprobs or [])},
        )
        for t in content
    ]
