"""In-process transformers PRM backend: batches the steps of many candidates into one forward pass."""

from __future__ import annotations

import asyncio
import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ponder.errors import ConfigError, ModelError
from ponder.prm.base import ScoreRequest, check_scores, register_scorer
from ponder.prm.value_head import EncoderRef, is_value_head_dir, load_value_head


@dataclass(frozen=True)
class Encoded:
    """Token ids of one candidate and the positions whose outputs score its steps."""

    ids: list[int]
    positions: list[int]
    prefix_len: int = 0  # leading tokens shared by every candidate of the same prompt


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype(device: str, dtype: str | None) -> torch.dtype:
    name = dtype or ("bfloat16" if device.startswith("cuda") else "float32")
    try:
        return getattr(torch, name)
    except AttributeError:
        raise ConfigError(
            f"unknown torch dtype {name!r}", fix="use float32, bfloat16 or float16"
        ) from None


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def _single_token(tokenizer: Any, token: str, what: str) -> int:
    ids = _ids(tokenizer, token)
    if len(ids) != 1:
        raise ModelError(
            f"the {what} {token!r} is {len(ids)} tokens in this tokenizer, not one",
            fix=f"pass the model's own {what} (e.g. step_tag='<extra_0>' for Qwen2.5-Math-PRM)",
        )
    return ids[0]


def load_tokenizer(path: str, gguf_file: str | None = None) -> Any:
    from transformers import AutoTokenizer

    kw = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        return AutoTokenizer.from_pretrained(path, **kw)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot load a tokenizer from {path}: {exc}", fix="check the path"
        ) from exc


class Convention(ABC):
    """How one family of PRMs reads steps: the text layout, and which outputs give step scores."""

    def __init__(self, tokenizer: Any, model: Any) -> None:
        self.tokenizer = tokenizer
        self.model = model

    @abstractmethod
    def encode(self, request: ScoreRequest) -> Encoded: ...

    @abstractmethod
    def scores(self, outputs: Any, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """P(good) at the gathered (row, col) positions of a batch's model outputs."""

    supports_prefix_cache = False

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, past: Any = None) -> Any:
        return self.model(input_ids=ids, attention_mask=mask)

    def prefix_cache(self, ids: torch.Tensor) -> Any:
        """The KV cache of a shared prefix ([1, p] ids), for conventions that support it."""
        return self.model(input_ids=ids, use_cache=True).past_key_values

    def encode_steps(self, prefix: str, steps: Sequence[str]) -> Encoded:
        """Tokenize the prefix and each step separately; score at each step's last token (the
        tokens a value head was trained on are made the same way)."""
        ids = _ids(self.tokenizer, prefix)
        prefix_len = len(ids)
        positions = []
        for step in steps:
            ids += _ids(self.tokenizer, step)
            if not ids:
                ids.append(self.tokenizer.pad_token_id or 0)
            positions.append(len(ids) - 1)
        return Encoded(ids, positions, min(prefix_len, positions[0]) if positions else 0)

    def encode_tagged(self, text: str, tag_id: int, n_steps: int) -> Encoded:
        """Tokenize the whole text (as the PRM saw it in training); score at the step-tag tokens."""
        ids = _ids(self.tokenizer, text)
        positions = [i for i, t in enumerate(ids) if t == tag_id]
        if len(positions) != n_steps:
            raise ModelError(
                f"found {len(positions)} step tags for {n_steps} steps in the PRM input",
                fix="remove the step tag from the step texts, or pick another step_tag",
            )
        return Encoded(ids, positions)


_CONVENTIONS: dict[str, type[Convention]] = {}


def register_convention(name: str):
    def deco(cls: type[Convention]) -> type[Convention]:
        _CONVENTIONS[name] = cls
        return cls

    return deco


def _load(auto_cls: Any, path: str, device: str, dtype: torch.dtype, **kw: Any) -> Any:
    try:
        model = auto_cls.from_pretrained(path, dtype=dtype, **kw)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot load a PRM from {path}: {exc}", fix="check the path and convention"
        ) from exc
    return model.to(device).eval()


@register_convention("shepherd")
class ShepherdConvention(Convention):
    """Math-Shepherd: a causal LM; P(good token) vs the bad token at each step tag (`ки`)."""

    def __init__(
        self,
        path: str,
        device: str,
        dtype: torch.dtype,
        step_tag: str = "ки",
        good_token: str = "+",
        bad_token: str = "-",
        **_: Any,
    ) -> None:
        from transformers import AutoModelForCausalLM

        tok = load_tokenizer(path)
        super().__init__(tok, _load(AutoModelForCausalLM, path, device, dtype))
        self.step_tag = step_tag
        self.tag_id = _ids(tok, step_tag)[-1]  # Math-Shepherd scores at the tag's last token
        self.pair = [
            _single_token(tok, good_token, "good token"),
            _single_token(tok, bad_token, "bad token"),
        ]

    def encode(self, request: ScoreRequest) -> Encoded:
        text = request.prompt + " " + "".join(f"{s} {self.step_tag}\n" for s in request.steps)
        return self.encode_tagged(text, self.tag_id, len(request.steps))

    def scores(self, outputs: Any, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        logits = outputs.logits[rows, cols][:, self.pair].float()
        return logits.softmax(-1)[:, 0]


@register_convention("token-classify")
class TokenClassifyConvention(Convention):
    """Qwen2.5-Math-PRM: chat layout, `<extra_0>` after each step, a 2-class head; P(class 1)."""

    def __init__(
        self,
        path: str,
        device: str,
        dtype: torch.dtype,
        step_tag: str = "<extra_0>",
        system: str = "Please reason step by step, and put your final answer within \\boxed{}.",
        trust_remote_code: bool = False,
        **_: Any,
    ) -> None:
        from transformers import AutoModel, AutoModelForTokenClassification

        tok = load_tokenizer(path)
        auto = AutoModel if trust_remote_code else AutoModelForTokenClassification
        kw = {"trust_remote_code": True} if trust_remote_code else {}
        super().__init__(tok, _load(auto, path, device, dtype, **kw))
        self.step_tag = step_tag
        self.tag_id = _single_token(tok, step_tag, "step tag")
        self.system = system

    def encode(self, request: ScoreRequest) -> Encoded:
        messages = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": request.prompt},
        ]
        if getattr(self.tokenizer, "chat_template", None):
            prefix = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:
            prefix = f"{self.system}\n{request.prompt}\n"
        text = prefix + "".join(s + self.step_tag for s in request.steps)
        return self.encode_tagged(text, self.tag_id, len(request.steps))

    def scores(self, outputs: Any, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        logits = outputs.logits if hasattr(outputs, "logits") else outputs[0]
        picked = logits[rows, cols].float()
        return picked.softmax(-1)[:, 1] if picked.shape[-1] == 2 else picked.squeeze(-1).sigmoid()


def load_encoder(ref: EncoderRef, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """Tokenizer + base model (hidden states only), truncated to `ref.layers` layers."""
    from transformers import AutoConfig, AutoModel

    kw = {"gguf_file": ref.gguf_file} if ref.gguf_file else {}
    tok = load_tokenizer(ref.path, ref.gguf_file)
    try:
        config = AutoConfig.from_pretrained(ref.path, **kw)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot load the encoder {ref.describe()}: {exc}", fix="check the encoder path"
        ) from exc
    if ref.layers:
        if ref.layers > config.num_hidden_layers:
            raise ConfigError(
                f"encoder has {config.num_hidden_layers} layers; {ref.layers} requested",
                fix=f"use --layers <= {config.num_hidden_layers}",
            )
        config.num_hidden_layers = ref.layers
        if getattr(config, "layer_types", None):
            config.layer_types = config.layer_types[: ref.layers]
    model = _load(AutoModel, ref.path, device, dtype, config=config, **kw)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token or tok.convert_ids_to_tokens(0)
    return tok, model


VALUE_PROMPT = "Problem:\n{prompt}\n\nSolution:\n"


@register_convention("value-head")
class ValueHeadConvention(Convention):
    """Ours: a frozen encoder's last hidden state at each step's last token, through a value head."""

    def __init__(self, path: str, device: str, dtype: torch.dtype, **_: Any) -> None:
        head, config = load_value_head(path)
        tok, model = load_encoder(config.encoder, device, dtype)
        super().__init__(tok, model)
        self.head = head.to(device)
        self.config = config

    @classmethod
    def for_training(
        cls, encoder: EncoderRef, device: str, dtype: torch.dtype, step_separator: str = "\n"
    ) -> ValueHeadConvention:
        """An encoder without a head yet (`ponder prm train` extracts features with it)."""
        self = cls.__new__(cls)
        Convention.__init__(self, *load_encoder(encoder, device, dtype))
        self.head = None
        self.config = None
        self._separator = step_separator
        return self

    @property
    def separator(self) -> str:
        return self.config.step_separator if self.config else self._separator

    def encode(self, request: ScoreRequest) -> Encoded:
        prefix = VALUE_PROMPT.format(prompt=request.prompt)
        return self.encode_steps(prefix, [s + self.separator for s in request.steps])

    supports_prefix_cache = True

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, past: Any = None) -> Any:
        out = self.model(input_ids=ids, attention_mask=mask, past_key_values=past, use_cache=False)
        return out.last_hidden_state

    def scores(self, outputs: Any, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        return self.head(outputs[rows, cols]).sigmoid()


def _detect_convention(path: str) -> str:
    if is_value_head_dir(path):
        return "value-head"
    cfg = Path(path) / "config.json"
    if cfg.is_file():
        archs = " ".join(json.loads(cfg.read_text()).get("architectures") or [])
        if "TokenClassification" in archs or "ProcessRewardModel" in archs:
            return "token-classify"
        return "shepherd"
    raise ModelError(
        f"{path} is not a PRM directory (no config.json)",
        fix="pass a transformers model directory or a `ponder prm train` output directory",
    )


class Batcher:
    """Runs a convention over many encoded candidates in length-sorted, token-capped batches.

    With `share_prefix` (conventions that read hidden states), candidates of the same prompt
    encode that prompt once: its KV cache is repeated across the batch of their continuations.
    """

    def __init__(
        self,
        convention: Convention,
        device: str,
        max_batch_tokens: int = 8192,
        share_prefix: bool = True,
        min_shared: int = 16,
    ) -> None:
        self.convention = convention
        self.device = device
        self.max_batch_tokens = max_batch_tokens
        self.share_prefix = share_prefix and convention.supports_prefix_cache
        self.min_shared = min_shared

    def batches(self, encoded: Sequence[Encoded], skip: int = 0) -> list[list[int]]:
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
        out: list[list[int]] = []
        for i in order:
            longest = len(encoded[i].ids) - skip
            if out and longest * (len(out[-1]) + 1) <= self.max_batch_tokens:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    def _groups(self, encoded: Sequence[Encoded]) -> list[tuple[int, list[int]]]:
        """(shared prefix length, member indices): one group per prompt worth sharing."""
        by_prefix: dict[tuple[int, ...], list[int]] = {}
        for i, e in enumerate(encoded):
            key = tuple(e.ids[: e.prefix_len]) if self.share_prefix else ()
            by_prefix.setdefault(key, []).append(i)
        groups, rest = [], []
        for key, members in by_prefix.items():
            if len(key) >= self.min_shared and len(members) > 1:
                groups.append((len(key), members))
            else:
                rest += members
        return groups + ([(0, rest)] if rest else [])

    def _run_batch(
        self, encoded: Sequence[Encoded], batch: list[int], skip: int, cache: Any, pick: Any
    ) -> Any:
        pad = self.convention.tokenizer.pad_token_id or 0
        width = max(len(encoded[i].ids) for i in batch) - skip
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), skip + width), dtype=torch.long)
        rows, cols = [], []
        for r, i in enumerate(batch):
            e = encoded[i]
            ids[r, : len(e.ids) - skip] = torch.tensor(e.ids[skip:])
            mask[r, : len(e.ids)] = 1
            rows += [r] * len(e.positions)
            cols += [p - skip for p in e.positions]
        past = None
        if cache is not None:
            past = copy.deepcopy(cache)
            past.batch_repeat_interleave(len(batch))
        outputs = self.convention.forward(ids.to(self.device), mask.to(self.device), past)
        dev = self.device
        return pick(outputs, torch.tensor(rows, device=dev), torch.tensor(cols, device=dev))

    @torch.inference_mode()
    def run(self, encoded: Sequence[Encoded], pick: Any) -> list[Any]:
        """`pick(outputs, rows, cols)` for each batch; results split back per candidate, in order."""
        results: list[Any] = [None] * len(encoded)
        for skip, members in self._groups(encoded):
            cache = None
            if skip:
                prefix = torch.tensor([encoded[members[0]].ids[:skip]], device=self.device)
                cache = self.convention.prefix_cache(prefix)
            sub = [encoded[i] for i in members]
            for batch in self.batches(sub, skip):
                picked = self._run_batch(sub, batch, skip, cache, pick)
                start = 0
                for j in batch:
                    n = len(sub[j].positions)
                    results[members[j]] = picked[start : start + n]
                    start += n
        return results


class HFScorer:
    """Step scorer on an in-process transformers model (`cuda` when available, else `cpu`)."""

    def __init__(
        self,
        path: str | Path,
        convention: str = "auto",
        device: str | None = None,
        dtype: str | None = None,
        max_batch_tokens: int = 8192,
        share_prefix: bool = True,
        **options: Any,
    ) -> None:
        path = str(Path(path).expanduser())
        name = _detect_convention(path) if convention == "auto" else convention
        if name not in _CONVENTIONS:
            raise ConfigError(
                f"unknown PRM convention {name!r}",
                fix=f"use one of auto, {', '.join(sorted(_CONVENTIONS))}",
            )
        self.device = device or default_device()
        self.convention = _CONVENTIONS[name](
            path, self.device, _dtype(self.device, dtype), **options
        )
        self.convention_name = name
        self.batcher = Batcher(self.convention, self.device, max_batch_tokens, share_prefix)
        self.name = f"hf:{path}"

    def score_sync(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        encoded = [self.convention.encode(r) for r in requests]
        picked = self.batcher.run(encoded, self.convention.scores)
        scores = [[float(x) for x in p.float().cpu()] for p in picked]
        check_scores(self.name, requests, scores)
        return scores

    async def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        return await asyncio.to_thread(self.score_sync, list(requests))


@register_scorer("hf")
def open_hf(path: str | Path, **options: Any) -> HFScorer:
    return HFScorer(path, **options)
