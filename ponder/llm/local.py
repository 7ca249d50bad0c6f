"""Backend for GGUF models on the CPU through llama-cpp-python (the embedded default's engine)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, ModelError
from ponder.llm.base import LLM, Generation, Message, SamplingParams

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

    The model loads on first use. By default (`batching=True`) a batching engine serves every
    call: the `n` samples of a call decode together off one prompt evaluation, concurrent calls
    join the same decode loop, and recent prompts' KV is kept so a prompt sharing a prefix with
    one of them evaluates only its new tokens (see ponder/llm/llamacpp/engine.py).

    Reproducibility: the same calls in the same order replay the same texts, and a repeated
    prompt reuses its kept KV and last logits, so it draws exactly what the first call drew.
    But llama.cpp's CPU kernels give a row decoded beside others slightly different logits
    than the same row decoded alone (up to ~0.3 here), so a seeded sample's text can depend
    on what it was batched with (measured: half of 48-token samples at T=0.8 differ alone vs
    in n=8). `batching=False` is the sequential path, independent of other calls: one
    generation at a time through `llama_cpp.Llama`, each from an empty KV cache unless
    `reuse_prefix=True`.

    Logprobs come back only for a model opened with `logits_all=True` (the sequential path
    then keeps n_ctx x vocab floats); otherwise completions carry `logprobs=None`.
    `max_concurrency` is how many calls are worth having in flight (the bench reads `batches`).
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        logits_all: bool = False,
        top_logprobs: int = 5,
        batching: bool = True,
        max_sequences: int = 16,
        kv_cells: int | None = None,
        prefix_cache: bool = True,
        flash_attn: bool | None = None,
        repack: bool = True,
        reuse_prefix: bool = False,
        **llama_opts: Any,
    ) -> None:
        self.model_path = check_gguf(Path(model_path))
        self.name = name or f"local:{self.model_path}"
        self.n_ctx = n_ctx
        # ggml's worker threads spin while they wait; on a small or busy machine extra threads
        # slow prompt evaluation down (measured here: 42 tokens/s with 1 thread, 17 with 2 on a
        # loaded 2-core box), so prompt and generation use the same, physical-core count.
        threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
        llama_class = import_llama()
        self.batches = batching
        self.max_concurrency = max_sequences if batching else 1
        self._engine: Any = None
        self._sequential: Any = None
        if batching:
            from ponder.llm.llamacpp.engine import BatchEngine, EngineOptions

            if llama_opts:
                raise ConfigError(
                    f"{self.name}: the batching engine does not take llama.cpp option(s) "
                    f"{sorted(llama_opts)}",
                    fix="open the model with batching=False to pass them to llama_cpp.Llama",
                )
            self._engine = BatchEngine(
                self.model_path,
                self.name,
                EngineOptions(
                    n_ctx=n_ctx,
                    kv_cells=kv_cells,
                    max_sequences=max_sequences,
                    n_threads=threads,
                    prefix_cache=prefix_cache,
                    flash_attn=flash_attn,
                    repack=repack,
                    top_logprobs=top_logprobs,
                    logprobs=logits_all,
                ),
            )
        else:
            from ponder.llm.llamacpp.sequential import SequentialLlama

            if flash_attn is not None:
                llama_opts["flash_attn"] = flash_attn

            self._sequential = SequentialLlama(
                llama_class,
                self.model_path,
                self.name,
                n_ctx=n_ctx,
                logits_all=logits_all,
                top_logprobs=top_logprobs,
                reuse_prefix=reuse_prefix,
                llama_opts={"n_threads": threads, "n_threads_batch": threads} | llama_opts,
            )

    @property
    def stats(self) -> Any:
        """The batching engine's counters (None on the sequential path)."""
        return self._engine.stats if self._engine is not None else None

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        if self._engine is not None:
            return await self._engine.generate(messages, params)
        return await asyncio.to_thread(self._sequential.generate, messages, params)

    async def aclose(self) -> None:
        if self._engine is not None:
            await asyncio.to_thread(self._engine.close)
        else:
            await asyncio.to_thread(self._sequential.close)
