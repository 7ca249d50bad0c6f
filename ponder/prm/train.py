"""`ponder prm train`: fit our value head on a frozen encoder's hidden states at step ends."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ponder.errors import ConfigError
from ponder.prm.base import ScoreRequest
from ponder.prm.dataset import StepRecord
from ponder.prm.hf import Batcher, ValueHeadConvention, _dtype, default_device
from ponder.prm.metrics import roc_auc
from ponder.prm.value_head import EncoderRef, HeadConfig, ValueHead, save_value_head


def _target_value(rec: StepRecord) -> list[float]:
    return list(rec.values)


def _target_hard(rec: StepRecord) -> list[float]:
    return [float(x) for x in rec.labels]


def _target_progress(rec: StepRecord) -> list[float]:
    return [min(1.0, max(0.0, (p + 1.0) / 2.0)) for p in rec.progress]


TARGETS: dict[str, Callable[[StepRecord], list[float]]] = {
    "value": _target_value,  # Math-Shepherd soft estimate
    "hard": _target_hard,  # Math-Shepherd hard estimate
    "progress": _target_progress,  # Rewarding Progress advantage, mapped to [0, 1]
}


@dataclass(frozen=True)
class TrainConfig:
    encoder: str
    layers: int | None = 8
    target: str = "value"
    hidden: int = 256
    epochs: int = 300
    lr: float = 1e-3
    weight_decay: float = 1e-2
    val_fraction: float = 0.2
    seed: int = 0
    max_batch_tokens: int = 4096
    device: str | None = None
    step_separator: str = "\n"  # appended to each step; the score is read at its last token

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(
                f"unknown PRM target {self.target!r}", fix=f"use one of {', '.join(TARGETS)}"
            )
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(
                f"val_fraction={self.val_fraction} is outside [0, 1)", fix="use e.g. 0.2"
            )


@dataclass
class TrainReport:
    out: str
    records: int
    steps: int
    train_tasks: int
    val_tasks: int
    val_step_auc: float | None
    val_outcome_auc: float | None
    val_loss: float | None
    best_epoch: int
    feature_seconds: float
    train_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_val_task(task_id: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}/{task_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32 < fraction


def extract_features(
    convention: ValueHeadConvention,
    records: Sequence[StepRecord],
    device: str,
    max_batch_tokens: int,
) -> list[torch.Tensor]:
    """The encoder's hidden state at the end of each step, [n_steps, H] per record (on cpu)."""
    encoded = [convention.encode(ScoreRequest(r.prompt, tuple(r.steps))) for r in records]
    batcher = Batcher(convention, device, max_batch_tokens)
    return batcher.run(encoded, lambda out, rows, cols: out[rows, cols].float().cpu())


def fit_head(
    x: torch.Tensor,
    y: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    config: TrainConfig,
) -> tuple[ValueHead, int, float | None]:
    """Full-batch AdamW on BCE with soft targets; keeps the epoch with the lowest val loss."""
    torch.manual_seed(config.seed)
    head = ValueHead(x.shape[1], config.hidden)
    head.set_normalisation(x)
    opt = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    best = (float("inf"), 0, {k: v.clone() for k, v in head.state_dict().items()})
    for epoch in range(1, config.epochs + 1):
        head.train()
        opt.zero_grad()
        loss = loss_fn(head(x), y)
        loss.backward()
        opt.step()
        if x_val is not None and len(x_val):
            head.eval()
            with torch.no_grad():
                val = float(loss_fn(head(x_val), y_val))
            if val < best[0]:
                best = (val, epoch, {k: v.clone() for k, v in head.state_dict().items()})
    if x_val is None or not len(x_val):
        return head.eval(), config.epochs, None
    head.load_state_dict(best[2])
    return head.eval(), best[1], best[0]


def train_prm(
    records: Sequence[StepRecord],
    out: str | Path,
    config: TrainConfig,
    log: Callable[[str], None] = lambda _: None,
) -> TrainReport:
    """Extract features once, fit the head, save a directory the `hf` backend loads."""
    if not records:
        raise ConfigError(
            "the PRM dataset is empty", fix="collect some data with `ponder prm collect`"
        )
    device = config.device or default_device()
    ref = EncoderRef.from_spec(config.encoder, layers=config.layers)
    log(f"loading encoder {ref.describe()} on {device}")
    conv = ValueHeadConvention.for_training(
        ref, device, _dtype(device, None), config.step_separator
    )
    start = time.monotonic()
    feats = extract_features(conv, records, device, config.max_batch_tokens)
    feature_s = time.monotonic() - start
    log(f"features for {sum(len(r.steps) for r in records)} steps in {feature_s:.1f}s")
    target = TARGETS[config.target]
    val_mask = [is_val_task(r.task_id, config.val_fraction, config.seed) for r in records]
    if all(val_mask):
        val_mask = [False] * len(records)

    def stack(keep: bool) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [
            (f, target(r)) for f, r, v in zip(feats, records, val_mask, strict=True) if v == keep
        ]
        if not rows:
            return torch.empty(0, feats[0].shape[1]), torch.empty(0)
        return torch.cat([f for f, _ in rows]), torch.tensor([t for _, ts in rows for t in ts])

    (x, y), (xv, yv) = stack(False), stack(True)
    start = time.monotonic()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small head: threads only add synchronisation (and fight others)
    try:
        head, best_epoch, val_loss = fit_head(x, y, xv, yv, config)
    finally:
        torch.set_num_threads(threads)
    train_s = time.monotonic() - start
    step_auc = outcome_auc = None
    val_recs = [(f, r) for f, r, v in zip(feats, records, val_mask, strict=True) if v]
    if val_recs:
        with torch.no_grad():
            scored = [(head(f).sigmoid().tolist(), r) for f, r in val_recs]
        step_auc = roc_auc(
            [s for ss, _ in scored for s in ss], [lab for _, r in scored for lab in r.labels]
        )
        outcome_auc = roc_auc([min(ss) for ss, _ in scored], [r.correct for _, r in scored])
    report = TrainReport(
        out=str(out),
        records=len(records),
        steps=int(len(y) + len(yv)),
        train_tasks=len({r.task_id for r, v in zip(records, val_mask, strict=True) if not v}),
        val_tasks=len({r.task_id for r, v in zip(records, val_mask, strict=True) if v}),
        val_step_auc=step_auc,
        val_outcome_auc=outcome_auc,
        val_loss=val_loss,
        best_epoch=best_epoch,
        feature_seconds=round(feature_s, 2),
        train_seconds=round(train_s, 2),
    )
    cfg = HeadConfig(
        encoder=ref,
        input_dim=x.shape[1],
        hidden=config.hidden,
        target=config.target,
        step_separator=conv.separator,
        train=report.to_dict() | {"config": asdict(config)},
    )
    save_value_head(out, head, cfg)
    return report
