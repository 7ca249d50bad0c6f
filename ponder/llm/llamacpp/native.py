"""Thin typed wrappers over llama-cpp-python's low-level bindings: model, context, batch, sampler."""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ponder.errors import ModelError

# llama_token_data as numpy sees it: {id, logit, p}.
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])

# Seq ids of the unified KV cache are small ints; llama.cpp caps them (LLAMA_MAX_SEQ).
MAX_SEQ_IDS = 256

_log = logging.getLogger(__name__)

# What both llama.cpp paths warn of when the build has AMX layouts.
AMX_CRASH_WARNING = (
    "this llama.cpp build uses AMX weight layouts, which crash on some CPUs "
    "(ggml-org/llama.cpp#20824)"
)


def _ll() -> Any:
    import llama_cpp

    return llama_cpp


_backend_ready = False


def _init_backend(verbose: bool) -> None:
    global _backend_ready
    # llama-cpp-python routes llama.cpp's log through this logger (it prints below its level).
    logging.getLogger("llama-cpp-python").setLevel(logging.DEBUG if verbose else logging.ERROR)
    if not _backend_ready:
        _ll().llama_backend_init()
        _backend_ready = True


def amx_layouts_built() -> bool:
    """Whether this llama.cpp build would repack weights into its AMX layout.

    That layout's matrix multiply crashes the process (SIGSEGV) on some AMX CPUs
    (ggml-org/llama.cpp#20824; seen here on a Sapphire-Rapids-class VM with 0.3.36), and
    llama.cpp prefers it over its other repacked layouts whenever the build has it.
    """
    from ponder.provenance import llama_cpu_features

    return "AMX_INT8" in llama_cpu_features().split()


def use_repacked_layouts(repack: bool) -> bool:
    """`repack`, unless the build's AMX layout would be among them (then a warning, and off)."""
    if repack and amx_layouts_built():
        _log.warning(
            "%s; loading without repacked layouts (slower batches). Build llama-cpp-python "
            "without AMX to keep the others: `make install` does (see the Makefile)",
            AMX_CRASH_WARNING,
        )
        return False
    return repack


class Model:
    """A loaded GGUF: weights, vocabulary and the chat template stored in it."""

    def __init__(self, path: Path, *, repack: bool = True, verbose: bool = False) -> None:
        ll = _ll()
        _init_backend(verbose)
        params = ll.llama_model_default_params()
        params.n_gpu_layers = 0
        # Repacked weights run batched rows through other kernels than single rows.
        params.use_extra_bufts = use_repacked_layouts(repack)
        self.ptr = ll.llama_model_load_from_file(str(path).encode(), params)
        if not self.ptr:
            raise ModelError(
                f"llama.cpp could not load {path}",
                fix="check that the GGUF is complete and of an architecture this llama.cpp build "
                "supports (pip install -U llama-cpp-python)",
            )
        self.vocab = ll.llama_model_get_vocab(self.ptr)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(ll.llama_model_n_ctx_train(self.ptr))
        self._piece_buf = ctypes.create_string_buffer(256)

    def tokenize(self, text: str, *, add_bos: bool) -> list[int]:
        ll = _ll()
        data = text.encode("utf-8")
        size = len(data) + 8
        buf = (ll.llama_token * size)()
        n = ll.llama_tokenize(self.vocab, data, len(data), buf, size, add_bos, True)
        if n < 0:  # too small: llama.cpp returns minus the needed size
            buf = (ll.llama_token * -n)()
            n = ll.llama_tokenize(self.vocab, data, len(data), buf, -n, add_bos, True)
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """The bytes of one token, special tokens rendered empty (as llama-cpp-python does)."""
        n = _ll().llama_token_to_piece(self.vocab, token, self._piece_buf, 256, 0, False)
        return self._piece_buf.raw[: max(n, 0)]

    def is_eog(self, token: int) -> bool:
        return bool(_ll().llama_vocab_is_eog(self.vocab, token))

    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = _ll().llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="ignore") if raw else ""

    @property
    def bos(self) -> int:
        return int(_ll().llama_vocab_bos(self.vocab))

    @property
    def eos(self) -> int:
        return int(_ll().llama_vocab_eos(self.vocab))

    def chat_template(self) -> str | None:
        raw = _ll().llama_model_chat_template(self.ptr, None)
        return raw.decode("utf-8") if raw else None

    def close(self) -> None:
        if self.ptr:
            _ll().llama_model_free(self.ptr)
            self.ptr = None


@dataclass(frozen=True)
class ContextShape:
    """How big a context is: KV cells shared by all sequences, seq ids, tokens per decode."""

    kv_cells: int
    n_seq_max: int
    n_batch: int
    n_threads: int
    n_threads_batch: int
    flash_attn: bool | None = None  # None: llama.cpp decides


class Context:
    """A llama.cpp context with one unified KV cache that many sequences share."""

    def __init__(self, model: Model, shape: ContextShape) -> None:
        ll = _ll()
        params = ll.llama_context_default_params()
        params.n_ctx = shape.kv_cells
        params.n_batch = shape.n_batch
        params.n_ubatch = shape.n_batch
        params.n_seq_max = shape.n_seq_max
        params.n_threads = shape.n_threads
        params.n_threads_batch = shape.n_threads_batch
        # One buffer for all sequences: seq_cp shares a prompt's cells instead of copying them.
        params.kv_unified = True
        params.no_perf = True
        if shape.flash_attn is not None:
            params.flash_attn_type = (
                ll.LLAMA_FLASH_ATTN_TYPE_ENABLED
                if shape.flash_attn
                else ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
            )
        self.ptr = ll.llama_init_from_model(model.ptr, params)
        if not self.ptr:
            raise ModelError(
                f"llama.cpp could not create a context of {shape.kv_cells} KV cells "
                f"for {shape.n_seq_max} sequences",
                fix="open the model with fewer kv_cells or max_sequences",
            )
        self.memory = ll.llama_get_memory(self.ptr)
        self.kv_cells = int(ll.llama_n_ctx(self.ptr))
        self.n_vocab = model.n_vocab

    def decode(self, batch: Batch) -> int:
        """llama_decode's status: 0 ok, 1 no KV slot (nothing stored), other: failure."""
        return int(_ll().llama_decode(self.ptr, batch.raw))

    def copy_seq(self, src: int, dst: int, p0: int = -1, p1: int = -1) -> None:
        _ll().llama_memory_seq_cp(self.memory, src, dst, p0, p1)

    def drop_seq(self, seq: int) -> None:
        _ll().llama_memory_seq_rm(self.memory, seq, -1, -1)

    def logits(self, index: int) -> np.ndarray:
        """A copy of the raw logits of batch row `index` (which asked for output)."""
        ptr = _ll().llama_get_logits_ith(self.ptr, index)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def close(self) -> None:
        if self.ptr:
            _ll().llama_free(self.ptr)
            self.ptr = None


class Batch:
    """A reusable llama_batch: one seq id per token, filled row by row."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.raw = _ll().llama_batch_init(capacity, 0, 1)
        self.raw.n_tokens = 0

    def clear(self) -> None:
        self.raw.n_tokens = 0

    def add(self, token: int, pos: int, seq: int, output: bool) -> int:
        """Append one token; returns its row (the index its logits are read at)."""
        i = self.raw.n_tokens
        if i >= self.capacity:
            raise OverflowError(f"batch holds at most {self.capacity} tokens")
        raw = self.raw
        raw.token[i] = token
        raw.pos[i] = pos
        raw.n_seq_id[i] = 1
        raw.seq_id[i][0] = seq
        raw.logits[i] = output
        raw.n_tokens = i + 1
        return i

    def __len__(self) -> int:
        return int(self.raw.n_tokens)

    def close(self) -> None:
        if self.raw is not None:
            _ll().llama_batch_free(self.raw)
            self.raw = None


class Sampler:
    """llama.cpp's sampler chain for one sequence: top-p, temperature, then a seeded draw.

    The order is llama-cpp-python's (top-p over the untempered distribution, then
    temperature), so a sequence sampled here draws what the sequential path drew.
    """

    def __init__(self, *, temperature: float, top_p: float, seed: int) -> None:
        ll = _ll()
        self.ptr = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if temperature == 0.0:
            ll.llama_sampler_chain_add(self.ptr, ll.llama_sampler_init_greedy())
        else:
            ll.llama_sampler_chain_add(self.ptr, ll.llama_sampler_init_top_p(top_p, 1))
            ll.llama_sampler_chain_add(self.ptr, ll.llama_sampler_init_temp(temperature))
            ll.llama_sampler_chain_add(self.ptr, ll.llama_sampler_init_dist(seed & 0xFFFFFFFF))

    def sample(self, ctx: Context, index: int) -> int:
        """Draw from batch row `index`'s logits (the chain accepts the token itself)."""
        return int(_ll().llama_sampler_sample(self.ptr, ctx.ptr, index))

    def sample_logits(self, logits: np.ndarray) -> int:
        """Draw from stored logits exactly as `sample` draws from a batch row."""
        ll = _ll()
        n = len(logits)
        data = (ll.llama_token_data * n)()
        view = np.ctypeslib.as_array(data).view(_TOKEN_DATA)
        view["id"] = np.arange(n, dtype=np.int32)
        view["logit"] = logits
        view["p"] = 0.0
        cur = ll.llama_token_data_array(
            data=ctypes.cast(data, ll.llama_token_data_p), size=n, selected=-1, sorted=False
        )
        ll.llama_sampler_apply(self.ptr, ctypes.byref(cur))
        token = int(cur.data[cur.selected].id)  # samplers may point `data` elsewhere
        ll.llama_sampler_accept(self.ptr, token)
        return token

    def close(self) -> None:
        if self.ptr:
            _ll().llama_sampler_free(self.ptr)
            self.ptr = None
