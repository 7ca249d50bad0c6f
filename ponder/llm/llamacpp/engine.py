"""The batching engine: one thread owns a llama.cpp context and decodes every request's sequences together."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import random
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ponder.errors import ConfigError, ModelError
from ponder.llm.base import Generation, Message, SamplingParams
from ponder.llm.llamacpp.native import MAX_SEQ_IDS, Batch, Context, ContextShape, Model, Sampler
from ponder.llm.llamacpp.prefix import PrefixCache
from ponder.llm.llamacpp.prompt import ChatPrompt
from ponder.llm.llamacpp.sequences import Request, Sample, StopText, token_logprob
from ponder.llm.sampling import sample_seeds

_CLOSE = object()


@dataclass(frozen=True)
class EngineOptions:
    """Sizes of the engine. `n_ctx` bounds one sequence (prompt plus completion), as before."""

    n_ctx: int = 4096
    kv_cells: int | None = None  # KV cells all sequences share (default 4 x n_ctx)
    max_sequences: int = (
        16  # sequences decoded together at most (throughput is flat past 8-16 here)
    )
    n_batch: int = 512  # tokens per llama_decode (prompt chunks plus one per sequence)
    n_threads: int = 1
    prefix_cache: bool = True
    prefix_entries: int = 16  # prompts kept for reuse
    prefix_tokens: int | None = None  # their KV cells at most (default kv_cells / 4)
    flash_attn: bool | None = None  # None: llama.cpp's choice
    repack: bool = True  # llama.cpp's repacked weight layouts (faster batches)
    top_logprobs: int = 5
    logprobs: bool = False  # whether logprobs=True requests get them (as logits_all did)
    verbose: bool = False

    @property
    def cells(self) -> int:
        return self.kv_cells or 4 * self.n_ctx


@dataclass
class EngineStats:
    """Counters since the engine started (the bench and tests read them)."""

    requests: int = 0
    prompt_tokens: int = 0  # prompt tokens of all requests
    prompt_evaluated: int = 0  # of them, decoded (the rest came from the prefix cache)
    generated: int = 0
    decode_calls: int = 0
    max_sequences_seen: int = 0  # most sequences decoded in one call


class BatchEngine:
    """Continuous batching on llama.cpp's sequence API.

    Requests come in through a queue; the engine thread admits them as KV cells and sequence
    slots allow, evaluates each prompt once (after copying its longest cached prefix), forks
    one sequence per sample off the prompt and decodes all live sequences in one batch per
    step. A sequence leaves on EOS, a stop string or its token limit; its request's future is
    answered when its last sequence leaves. Errors fail their own request only.
    """

    def __init__(self, model_path: Path, name: str, options: EngineOptions) -> None:
        self.model_path, self.name, self.options = model_path, name, options
        self.stats = EngineStats()
        self._inbox: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._model: Model | None = None
        self._prompt: ChatPrompt | None = None

    # -- caller side ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load the model and start the engine thread (blocking; idempotent)."""
        with self._start_lock:
            if self._thread is not None:
                return
            opts = self.options
            model = Model(self.model_path, repack=opts.repack, verbose=opts.verbose)
            try:
                prompt = ChatPrompt(model, self.name)
                cache_entries = opts.prefix_entries if opts.prefix_cache else 0
                slots = min(MAX_SEQ_IDS, opts.max_sequences + cache_entries + 8)
                ctx = Context(
                    model,
                    ContextShape(
                        kv_cells=max(opts.cells, opts.n_ctx),
                        n_seq_max=slots,
                        n_batch=opts.n_batch,
                        n_threads=opts.n_threads,
                        n_threads_batch=opts.n_threads,
                        flash_attn=opts.flash_attn,
                    ),
                )
            except BaseException:
                model.close()
                raise
            self._model, self._prompt = model, prompt
            loop = _Loop(self, model, ctx, slots)
            self._thread = threading.Thread(target=loop.run, name=f"llama-engine {self.name}")
            self._thread.daemon = True
            self._thread.start()

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        if self._thread is None:
            await asyncio.to_thread(self.start)
        assert self._prompt is not None
        prompt = self._prompt.tokens(messages)
        n_ctx = self.options.n_ctx
        if len(prompt) >= n_ctx:
            raise ConfigError(
                f"{self.name}: the request does not fit the context of {n_ctx} tokens: "
                f"its prompt has {len(prompt)} tokens",
                fix=f"shorten the prompt or max_tokens, or open the model with a larger n_ctx "
                f"(open_model({self.name!r}, n_ctx={2 * n_ctx}))",
            )
        if params.temperature == 0.0:
            seeds, copies = [params.seed or 0], params.n  # greedy decoding is deterministic
        else:
            rng = random.SystemRandom()
            seeds = [s if s is not None else rng.randrange(2**31) for s in sample_seeds(params)]
            copies = 1
        # More samples than sequence slots run as several requests; later ones reuse the prompt.
        width = self.options.max_sequences
        parts = [
            self._submit(prompt, params, seeds[i : i + width], copies)
            for i in range(0, len(seeds), width)
        ]
        gens = await asyncio.gather(*parts)
        return Generation(
            completions=[c for g in gens for c in g.completions],
            prompt_tokens=len(prompt),
            model=self.name,
        )

    def _submit(
        self, prompt: list[int], params: SamplingParams, seeds: list[int], copies: int
    ) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        request = Request(
            prompt=prompt,
            params=params,
            seeds=seeds,
            copies=copies,
            limit=min(params.max_tokens, self.options.n_ctx - len(prompt)),
            want_logprobs=params.logprobs and self.options.logprobs,
            loop=loop,
            future=loop.create_future(),
        )
        self._inbox.put(request)
        return request.future

    def close(self) -> None:
        """Stop the thread (failing requests still queued) and free the model (blocking)."""
        with self._start_lock:
            if self._thread is not None:
                self._inbox.put(_CLOSE)
                self._thread.join()
                self._thread = None
            if self._model is not None:
                self._model.close()
                self._model = self._prompt = None


def _answer(request: Request, result: Generation | BaseException) -> None:
    """Resolve the request's future from the engine thread (a gone loop or caller is fine)."""
    if request.done:
        return
    request.done = True

    def settle() -> None:
        if request.future.done():
            return
        if isinstance(result, BaseException):
            request.future.set_exception(result)
        else:
            request.future.set_result(result)

    # A closed event loop raises: its caller is gone and nobody waits for this answer.
    with contextlib.suppress(RuntimeError):
        request.loop.call_soon_threadsafe(settle)


class _Loop:
    """The engine thread's state: the context, live requests and the sequence ids they hold."""

    def __init__(self, engine: BatchEngine, model: Model, ctx: Context, slots: int) -> None:
        self.engine, self.model, self.ctx = engine, model, ctx
        self.opts = engine.options
        self.stats = engine.stats
        self.free_ids = list(range(slots - 1, -1, -1))
        # Seq ids owed to admitted requests whose prompts are still being evaluated: their
        # samples fork off the prompt later, and no admission in between may take those ids.
        self.promised = 0
        self.waiting: list[Request] = []
        self.live: list[Request] = []  # admitted, in admission order
        self.reserved = 0  # KV cells promised to live requests
        self.cache = PrefixCache(
            self.opts.prefix_entries if self.opts.prefix_cache else 0,
            self.opts.prefix_tokens or self.ctx.kv_cells // 4,
        )
        self.batch = Batch(self.opts.n_batch)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while self._take_new(block=not self.live):
                try:
                    self._drop_cancelled()
                    self._admit()
                    if self.live:
                        self._step()
                    self._settle()
                except Exception as exc:  # a bug must not hang callers: fail what is live
                    self._fail_all(ModelError(f"{self.engine.name}: the engine failed: {exc!r}"))
        finally:
            self._fail_all(ModelError(f"{self.engine.name}: the model was closed"))
            for r in self.waiting:
                _answer(r, ModelError(f"{self.engine.name}: the model was closed"))
            self.batch.close()
            self.ctx.close()

    def _take_new(self, block: bool) -> bool:
        """Move queued requests to `waiting`; False once the engine is told to close."""
        try:
            item = self.engine._inbox.get(block=block)
            while True:
                if item is _CLOSE:
                    return False
                self.waiting.append(item)
                item = self.engine._inbox.get_nowait()
        except queue.Empty:
            return True

    def _drop_cancelled(self) -> None:
        self.waiting = [r for r in self.waiting if not r.future.cancelled()]
        for r in [r for r in self.live if r.future.cancelled()]:
            self._retire(r, keep_prompt=False)
            r.done = True

    # -- admission -----------------------------------------------------------------------------

    def _admit(self) -> None:
        running = sum(len(r.seeds) for r in self.live)
        while self.waiting:
            r = self.waiting[0]
            width = len(r.seeds)
            need = len(r.prompt) + width * r.limit
            if self.live and (
                running + width > self.opts.max_sequences
                or self._free_cells() + self.cache.tokens < need
            ):
                return  # wait for live sequences to leave (FIFO: no overtaking)
            # Alone, a request runs even if it may outgrow the cells (llama_decode then says so).
            self._make_room(ids=self.promised + width + 1, cells=need)
            if len(self.free_ids) - self.promised < width + 1:
                return
            self.waiting.pop(0)
            self._start(r)
            running += width

    def _make_room(self, ids: int, cells: int) -> None:
        """Evict cached prompts, oldest first, until `ids` seq ids and `cells` KV cells are free."""
        while len(self.cache) and (len(self.free_ids) < ids or self._free_cells() < cells):
            self._drop_seq(self.cache.pop_oldest())

    def _free_cells(self) -> int:
        return self.ctx.kv_cells - self.reserved - self.cache.tokens

    def _start(self, r: Request) -> None:
        self.stats.requests += 1
        self.stats.prompt_tokens += len(r.prompt)
        r.prompt_seq = self.free_ids.pop()
        self.promised += len(r.seeds)  # until `_fork` takes them
        hit = self.cache.match(r.prompt)
        if hit is not None and hit.payload is not None:
            # The same prompt again: its KV and last logits are kept, so nothing is evaluated
            # and the samples draw their first tokens from the very logits the miss drew from.
            r.reused = len(r.prompt)
            r.last_logits = hit.payload
        elif hit is not None:
            # Keep at least the last prompt token to decode: its logits start every sample.
            r.reused = min(hit.length, len(r.prompt) - 1)
        if r.reused:
            self.ctx.copy_seq(hit.seq, r.prompt_seq, 0, r.reused)
        r.evaluated = r.reused
        r.reserved = len(r.prompt) - r.reused + len(r.seeds) * r.limit
        self.reserved += r.reserved
        self.live.append(r)
        if r.prefilled:
            self._fork(r, None)

    # -- one decode step -----------------------------------------------------------------------

    def _step(self) -> None:
        batch = self.batch
        batch.clear()
        rows: list[tuple[Request, Sample, int]] = []
        for r in self.live:
            for s in r.samples:
                if s.pending is not None:
                    rows.append((r, s, batch.add(s.pending, s.pos, s.seq, True)))
        chunks: list[tuple[Request, int, int]] = []  # request, tokens added, row of its last
        for r in self.live:
            room = batch.capacity - len(batch)
            if r.prefilled or room <= 0:
                continue
            k = min(room, len(r.prompt) - r.evaluated)
            for i in range(r.evaluated, r.evaluated + k):
                row = batch.add(r.prompt[i], i, r.prompt_seq, i == len(r.prompt) - 1)
            chunks.append((r, k, row))
        if not len(batch):
            return
        in_batch = {id(r): r for r, _, _ in rows} | {id(r): r for r, _, _ in chunks}
        status = self.ctx.decode(batch)
        if status == 1:  # no KV slot (nothing was stored): free cells and try again next step
            self._relieve(list(in_batch.values()))
            return
        if status != 0:
            for r in in_batch.values():
                self._fail(r, ModelError(f"{self.engine.name}: llama_decode failed ({status})"))
            return
        self.stats.decode_calls += 1
        self.stats.max_sequences_seen = max(self.stats.max_sequences_seen, len(rows))
        for r, k, row in chunks:
            r.evaluated += k
            self.stats.prompt_evaluated += k
            if r.prefilled:
                self._fork(r, row)
        for _, s, row in rows:
            s.pos += 1
            s.pending = None
            self._sample(s, row)

    def _settle(self) -> None:
        """Answer every request whose sequences have all left."""
        for r in [r for r in self.live if r.finished]:
            _answer(r, r.generation(self.engine.name))
            self._retire(r, keep_prompt=True)

    def _fork(self, r: Request, row: int | None) -> None:
        """Start one sequence per seed on the prompt's KV; each draws its first token from
        batch row `row`, or from the kept logits of the prompt when `row` is None."""
        if row is not None and self.opts.prefix_cache:
            r.last_logits = self.ctx.logits(row)
        self.promised -= len(r.seeds)
        for seed in r.seeds:
            seq = self.free_ids.pop()
            self.ctx.copy_seq(r.prompt_seq, seq)
            sample = Sample(
                seq=seq,
                sampler=Sampler(temperature=r.params.temperature, top_p=r.params.top_p, seed=seed),
                limit=r.limit,
                pos=len(r.prompt),
                text=StopText(r.params.stop),
                logprobs=[] if r.want_logprobs else None,
            )
            r.samples.append(sample)
            self._sample(sample, row, r.last_logits)

    def _sample(self, s: Sample, row: int | None, logits: np.ndarray | None = None) -> None:
        if row is None:
            assert logits is not None
            token = s.sampler.sample_logits(logits)
        else:
            token = s.sampler.sample(self.ctx, row)
        if self.model.is_eog(token):
            self._finish(s, "stop")
            return
        if s.logprobs is not None:
            raw = logits if row is None else self.ctx.logits(row)
            s.logprobs.append(token_logprob(raw, token, self.opts.top_logprobs, self._text_of))
        s.tokens.append(token)
        self.stats.generated += 1
        if s.text.push(self.model.piece(token)):
            self._finish(s, "stop")
        elif len(s.tokens) >= s.limit:
            self._finish(s, "length")
        else:
            s.pending = token

    def _text_of(self, token: int) -> str:
        return self.model.piece(token).decode("utf-8", errors="ignore")

    def _finish(self, s: Sample, reason: str) -> None:
        s.finish_reason = reason
        s.pending = None
        s.sampler.close()
        self._drop_seq(s.seq)

    # -- leaving -------------------------------------------------------------------------------

    def _retire(self, r: Request, keep_prompt: bool) -> None:
        """Take `r` out of the live set, freeing its sequences; its prompt may stay cached."""
        for s in r.samples:
            if s.finish_reason is None:
                self._finish(s, "stop")
        self.live.remove(r)
        self.reserved -= r.reserved
        if not r.samples:  # never forked: its promised ids go back
            self.promised -= len(r.seeds)
        if r.prompt_seq is None:
            return
        if keep_prompt and r.prefilled:
            for seq in self.cache.add(r.prompt_seq, r.prompt, r.last_logits):
                self._drop_seq(seq)
        else:
            self._drop_seq(r.prompt_seq)
        r.prompt_seq = None

    def _fail(self, r: Request, exc: BaseException) -> None:
        _answer(r, exc)
        self._retire(r, keep_prompt=False)

    def _fail_all(self, exc: BaseException) -> None:
        for r in list(self.live):
            self._fail(r, exc)

    def _relieve(self, in_batch: list[Request]) -> None:
        """After a full KV cache: evict a cached prompt, or fail the newest request in the batch."""
        if len(self.cache):
            self._drop_seq(self.cache.pop_oldest())
            return
        newest = max(in_batch, key=self.live.index)
        self._fail(
            newest,
            ConfigError(
                f"{self.engine.name}: the KV cache of {self.ctx.kv_cells} cells is full "
                f"(this request needs up to {newest.reserved} cells)",
                fix="lower n or max_tokens, or open the model with more kv_cells "
                f"(open_model({self.engine.name!r}, kv_cells={2 * self.ctx.kv_cells}))",
            ),
        )

    def _drop_seq(self, seq: int) -> None:
        self.ctx.drop_seq(seq)
        self.free_ids.append(seq)
