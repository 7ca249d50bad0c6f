"""The sequential path on llama-cpp-python's `Llama`: one generation at a time (the baseline)."""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, ModelError
from ponder.llm.base import Completion, Generation, Message, SamplingParams, TokenLogprob
from ponder.llm.llamacpp.native import AMX_CRASH_WARNING, amx_layouts_built
from ponder.llm.sampling import sample_seeds

_log = logging.getLogger(__name__)


class SequentialLlama:
    """Chat through `llama_cpp.Llama.create_chat_completion`, one call at a time.

    A Llama object is not thread-safe, so blocking calls hold a lock. `n` samples are `n` calls
    with distinct seeds derived from the request's seed (at temperature 0 one greedy call
    serves all `n`). llama.cpp returns logprobs only for a model loaded with `logits_all=True`.
    Each call starts from an empty KV cache unless `reuse_prefix=True` (faster on shared
    prefixes, but then an answer may differ in rare tokens depending on what ran before).
    """

    def __init__(
        self,
        llama_class: Any,
        model_path: Path,
        name: str,
        *,
        n_ctx: int,
        logits_all: bool,
        top_logprobs: int,
        reuse_prefix: bool,
        llama_opts: dict[str, Any],
    ) -> None:
        self._Llama = llama_class
        self.model_path, self.name, self.n_ctx = model_path, name, n_ctx
        self.logits_all, self.top_logprobs = logits_all, top_logprobs
        self.reuse_prefix = reuse_prefix
        self._llama_opts = llama_opts
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            if amx_layouts_built():
                # llama_cpp.Llama has no switch for the layouts it loads (the engine has one).
                _log.warning(
                    "%s; if %s dies with SIGSEGV, use the batching engine (the default) or "
                    "build llama-cpp-python without AMX (make install)",
                    AMX_CRASH_WARNING,
                    self.name,
                )
            try:
                self._llama = self._Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    logits_all=self.logits_all,
                    verbose=False,
                    **self._llama_opts,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"llama.cpp could not load {self.model_path}: {exc}",
                    fix="check that the GGUF is complete and of an architecture this llama.cpp build supports "
                    "(pip install -U llama-cpp-python)",
                ) from exc
        return self._llama

    def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        with self._lock:
            llama = self._load()
            if not self.reuse_prefix:
                # Start from an empty KV cache so the answer depends on the request alone:
                # a prompt evaluated on top of another call's cache gives slightly different
                # logits, and a seeded or greedy call must reproduce (the response cache and
                # reruns rely on it). The n samples of one call still share the prompt's KV.
                llama.reset()
            if params.temperature == 0.0:
                first = self._one(llama, messages, params, seed=params.seed or 0)
                responses = [first] * params.n  # greedy decoding is deterministic
            else:
                rng = random.SystemRandom()
                seeds = [s if s is not None else rng.randrange(2**31) for s in sample_seeds(params)]
                responses = [self._one(llama, messages, params, seed) for seed in seeds]
        completions = [_completion(r, params.logprobs) for r in responses]
        return Generation(
            completions=completions,
            prompt_tokens=responses[0]["usage"]["prompt_tokens"],
            model=self.name,
        )

    def _one(self, llama: Any, messages: list[Message], params: SamplingParams, seed: int) -> dict:
        want_logprobs = params.logprobs and self.logits_all
        try:
            return llama.create_chat_completion(
                messages=[dict(m) for m in messages],
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=0,  # off: temperature and top_p alone shape sampling, as in other backends
                min_p=0.0,
                stop=list(params.stop),
                seed=seed,
                max_tokens=params.max_tokens,
                logprobs=want_logprobs or None,
                top_logprobs=self.top_logprobs if want_logprobs else None,
            )
        except ValueError as exc:
            if "context window" in str(exc):
                raise ConfigError(
                    f"{self.name}: the request does not fit the context of {self.n_ctx} tokens: {exc}",
                    fix=f"shorten the prompt or max_tokens, or open the model with a larger n_ctx "
                    f"(open_model({self.name!r}, n_ctx=8192))",
                ) from exc
            raise

    def close(self) -> None:
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None


def _completion(response: dict, want_logprobs: bool) -> Completion:
    choice = response["choices"][0]
    content = (choice.get("logprobs") or {}).get("content") if want_logprobs else None
    logprobs = (
        [
            TokenLogprob(
                token=t["token"],
                logprob=float(t["logprob"]),
                top={a["token"]: float(a["logprob"]) for a in t.get("top_logprobs") or []},
            )
            for t in content
        ]
        if content
        else None
    )
    return Completion(
        text=choice["message"].get("content") or "",
        finish_reason=choice.get("finish_reason") or "stop",
        completion_tokens=response["usage"]["completion_tokens"],
        logprobs=logprobs,
    )
