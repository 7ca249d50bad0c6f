"""Backend for GGUF models on the CPU through llama-cpp-python (the embedded default's engine)."""

from __future__ import annotations

import asyncio
import os
import random
import threading
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, ModelError
from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob
from ponder.llm.sampling import sample_seeds

INSTALL_FIX = "pip install 'ponder[local]'"
_GGUF_MAGIC = b"GGUF"


def check_gguf(path: Path) -> Path:
    """`path` if it is a readable GGUF file, else a ModelError naming it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(
            f"model file {path} does not exist",
            fix="pass an existing GGUF file: --model local:PATH.gguf (or --model local for the embedded model)",
        )
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != _GGUF_MAGIC:
        raise ModelError(
            f"model file {path} is not a GGUF file (it starts with {magic!r}, not {_GGUF_MAGIC!r})",
            fix="convert the model to GGUF (llama.cpp's convert_hf_to_gguf.py) or use --model hf:DIR",
        )
    return path


def import_llama() -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ConfigError(
            f"the local backend needs llama-cpp-python, which is not importable: {exc}",
            fix=INSTALL_FIX,
        ) from exc
    return Llama


class LlamaCppChat(LLM):
    """Chat with a GGUF model via llama.cpp, applying the chat template stored in the GGUF.

    The model loads on first use. A Llama object is not thread-safe, so blocking calls run in a
    worker thread one at a time. `n` samples are `n` calls with distinct seeds derived from the
    request's seed (at temperature 0 one greedy call serves all `n`). llama.cpp returns logprobs
    only for a model loaded with `logits_all=True` (it keeps n_ctx x vocab floats, ~2.5 GB at
    4096 x 152k); otherwise completions carry `logprobs=None`.

    Each call starts from an empty KV cache, so seeded and greedy calls reproduce exactly;
    `reuse_prefix=True` keeps the cache across calls (faster on shared prefixes, but then an
    answer may differ in rare tokens depending on what ran before).
    """

    batches = False

    def __init__(
        self,
        model_path: Path | str,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        logits_all: bool = False,
        top_logprobs: int = 5,
        reuse_prefix: bool = False,
        **llama_opts: Any,
    ) -> None:
        self.model_path = check_gguf(Path(model_path))
        self.name = name or f"local:{self.model_path}"
        self.n_ctx = n_ctx
        self.logits_all = logits_all
        self.top_logprobs = top_logprobs
        self.reuse_prefix = reuse_prefix
        # ggml's worker threads spin while they wait; on a small or busy machine extra threads
        # slow prompt evaluation down (measured here: 42 tokens/s with 1 thread, 17 with 2 on a
        # loaded 2-core box), so prompt and generation use the same, physical-core count.
        threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
        self._llama_opts = {"n_threads": threads, "n_threads_batch": threads} | llama_opts
        self._Llama = import_llama()
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
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

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        return await asyncio.to_thread(self._generate_blocking, messages, params)

    def _generate_blocking(self, messages: list[Message], params: SamplingParams) -> Generation:
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

    async def aclose(self) -> None:
        await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
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
