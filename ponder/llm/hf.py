"""Backend for any causal LM through transformers, on cuda when available, else the CPU."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, ModelError
from ponder.llm.base import LLM, Completion, Generation, Message, SamplingParams, TokenLogprob
from ponder.llm.sampling import trim_at_stop

INSTALL_FIX = "pip install 'ponder[prm]'"


def _import_stack() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ConfigError(
            f"the hf backend needs torch and transformers, which are not importable: {exc}",
            fix=INSTALL_FIX,
        ) from exc
    return torch, transformers


class HFChat(LLM):
    """Chat with a transformers causal LM using the tokenizer's chat template.

    `n` samples come from one `generate` call (num_return_sequences); at temperature 0 one
    greedy sequence serves all `n`. A seed makes sampling reproducible without touching the
    process-wide RNG. Extra keyword arguments go to `from_pretrained`; models load from local
    directories only unless `local_files_only=False` is passed.
    """

    batches = True

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        device: str | None = None,
        dtype: str = "auto",
        top_logprobs: int = 5,
        **load_opts: Any,
    ) -> None:
        self.model_id = str(model)
        self.name = name or f"hf:{self.model_id}"
        self.top_logprobs = top_logprobs
        self._torch, self._tf = _import_stack()
        self.device = device or ("cuda" if self._torch.cuda.is_available() else "cpu")
        self._dtype = dtype
        self._load_opts = load_opts
        self._model: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            tf = self._tf
            dtype = self._dtype
            if dtype == "auto" and self.device == "cpu":
                dtype = "float32"  # half precision is slow or unsupported on many CPUs
            opts = {"local_files_only": True} | self._load_opts  # never reach for the hub unasked
            if opts["local_files_only"] and not Path(self.model_id).expanduser().is_dir():
                raise ModelError(
                    f"model directory {self.model_id} does not exist",
                    fix="pass a directory holding config.json, the weights and a tokenizer "
                    "(--model hf:DIR)",
                )
            try:
                tok = tf.AutoTokenizer.from_pretrained(
                    self.model_id, local_files_only=opts["local_files_only"]
                )
                model = tf.AutoModelForCausalLM.from_pretrained(
                    self.model_id, dtype=getattr(self._torch, dtype, dtype), **opts
                )
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"transformers could not load {self.model_id}: {exc}",
                    fix="pass a directory holding config.json, the weights and a tokenizer "
                    "(--model hf:DIR); hub downloads are not available on offline machines",
                ) from exc
            if not getattr(tok, "chat_template", None):
                raise ModelError(
                    f"the tokenizer of {self.model_id} has no chat template",
                    fix="use an instruct model, or add a chat_template to its tokenizer_config.json",
                )
            self._model, self._tok = model.to(self.device).eval(), tok
        return self._model, self._tok

    async def generate(self, messages: list[Message], params: SamplingParams) -> Generation:
        return await asyncio.to_thread(self._generate_blocking, messages, params)

    def _generate_blocking(self, messages: list[Message], params: SamplingParams) -> Generation:
        torch = self._torch
        with self._lock:
            model, tok = self._load()
            text = tok.apply_chat_template(
                [dict(m) for m in messages], add_generation_prompt=True, tokenize=False
            )
            enc = tok(text, return_tensors="pt", add_special_tokens=False).to(self.device)
            greedy = params.temperature == 0.0
            kwargs: dict[str, Any] = {
                "max_new_tokens": params.max_tokens,
                "do_sample": not greedy,
                "num_return_sequences": 1 if greedy else params.n,
                "return_dict_in_generate": True,
                "output_logits": params.logprobs,
                "pad_token_id": tok.pad_token_id
                if tok.pad_token_id is not None
                else tok.eos_token_id,
            }
            if not greedy:
                kwargs |= {"temperature": params.temperature, "top_p": params.top_p, "top_k": 0}
            if params.stop:
                kwargs |= {"stop_strings": list(params.stop), "tokenizer": tok}
            devices = [torch.cuda.current_device()] if self.device.startswith("cuda") else []
            with torch.random.fork_rng(devices=devices), torch.inference_mode():
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                out = model.generate(**enc, **kwargs)
        prompt_len = enc["input_ids"].shape[1]
        completions = [
            self._completion(out, row, prompt_len, params) for row in range(out.sequences.shape[0])
        ]
        if greedy:
            completions = completions * params.n
        return Generation(completions=completions, prompt_tokens=prompt_len, model=self.name)

    def _completion(
        self, out: Any, row: int, prompt_len: int, params: SamplingParams
    ) -> Completion:
        tok = self._tok
        ids = out.sequences[row, prompt_len:].tolist()
        if tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id:
            while ids and ids[-1] == tok.pad_token_id:  # padding after a stopped sequence
                ids.pop()
        eos = set(_as_list(self._model.generation_config.eos_token_id) or [tok.eos_token_id])
        ended = next((i for i, t in enumerate(ids) if t in eos), None)
        n_tokens = ended + 1 if ended is not None else len(ids)
        ids = ids[:n_tokens]
        text, stopped = trim_at_stop(tok.decode(ids, skip_special_tokens=True), params.stop)
        finish = (
            "stop" if ended is not None or stopped or n_tokens < params.max_tokens else "length"
        )
        logprobs = self._logprobs(out, row, ids) if params.logprobs else None
        return Completion(
            text=text, finish_reason=finish, completion_tokens=n_tokens, logprobs=logprobs
        )

    def _logprobs(self, out: Any, row: int, ids: list[int]) -> list[TokenLogprob]:
        """Log-probabilities under the model's own distribution (raw logits, before warping)."""
        result = []
        for step, tid in enumerate(ids):
            lp = self._torch.log_softmax(out.logits[step][row].float(), dim=-1)
            top = self._torch.topk(lp, min(self.top_logprobs, lp.shape[-1]))
            result.append(
                TokenLogprob(
                    token=self._tok.decode([tid]),
                    logprob=float(lp[tid]),
                    top={
                        self._tok.decode([int(t)]): float(v)
                        for v, t in zip(top.values, top.indices, strict=True)
                    },
                )
            )
        return result

    async def aclose(self) -> None:
        with self._lock:
            self._model = self._tok = None


def _as_list(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
