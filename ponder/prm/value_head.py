"""Our small PRM: an MLP value head on a frozen encoder's hidden states; save and load."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ponder.errors import ModelError

FORMAT = "ponder-value-head"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "head.safetensors"


@dataclass(frozen=True)
class EncoderRef:
    """Which frozen encoder the head reads: a transformers model directory or a GGUF file,
    truncated to its first `layers` decoder layers (None = all)."""

    path: str
    gguf_file: str | None = None
    layers: int | None = None

    @classmethod
    def from_spec(cls, spec: str | Path, layers: int | None = None) -> EncoderRef:
        """`DIR` (transformers model) or `FILE.gguf` (split into directory + file name)."""
        p = Path(spec).expanduser()
        if p.suffix == ".gguf":
            return cls(path=str(p.parent.resolve()), gguf_file=p.name, layers=layers)
        return cls(path=str(p.resolve()) if p.exists() else str(spec), layers=layers)

    def describe(self) -> str:
        where = f"{self.path}/{self.gguf_file}" if self.gguf_file else self.path
        return where + (f" (first {self.layers} layers)" if self.layers else "")


@dataclass
class HeadConfig:
    """What `config.json` of a saved value-head PRM holds."""

    encoder: EncoderRef
    input_dim: int
    hidden: int = 256
    target: str = "value"
    step_separator: str = "\n"
    format: str = FORMAT
    version: int = 1
    train: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: Path) -> HeadConfig:
        if data.get("format") != FORMAT:
            raise ModelError(
                f"{where} is not a Ponder value-head PRM (format={data.get('format')!r})",
                fix=f"point at a directory written by `ponder prm train` (format {FORMAT!r})",
            )
        data = dict(data)
        data["encoder"] = EncoderRef(**data["encoder"])
        return cls(**data)


class ValueHead(nn.Module):
    """Standardise the hidden state, then an MLP (or a linear layer when hidden=0) to one logit."""

    def __init__(self, input_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        if hidden > 0:
            self.net: nn.Module = nn.Sequential(
                nn.Linear(input_dim, hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(hidden, 1)
            )
        else:
            self.net = nn.Linear(input_dim, 1)

    def set_normalisation(self, features: torch.Tensor) -> None:
        self.mean.copy_(features.mean(0))
        self.std.copy_(features.std(0).clamp_min(1e-4))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits, one per row of `features` ([n, input_dim] -> [n])."""
        x = (features.float() - self.mean) / self.std
        return self.net(x).squeeze(-1)


def save_value_head(directory: str | Path, head: ValueHead, config: HeadConfig) -> Path:
    """Write `config.json` + `head.safetensors` into `directory`."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(d / WEIGHTS_FILE))
    (d / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=2) + "\n")
    return d


def is_value_head_dir(directory: str | Path) -> bool:
    cfg = Path(directory) / CONFIG_FILE
    if not cfg.is_file():
        return False
    try:
        return json.loads(cfg.read_text()).get("format") == FORMAT
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def load_value_head(directory: str | Path) -> tuple[ValueHead, HeadConfig]:
    """Read a directory written by `save_value_head`."""
    from safetensors.torch import load_file

    d = Path(directory)
    cfg_path, weights = d / CONFIG_FILE, d / WEIGHTS_FILE
    if not cfg_path.is_file() or not weights.is_file():
        raise ModelError(
            f"{d} holds no value-head PRM (need {CONFIG_FILE} and {WEIGHTS_FILE})",
            fix="train one with `ponder prm train DATA.jsonl --out DIR`",
        )
    try:
        config = HeadConfig.from_json(json.loads(cfg_path.read_text()), cfg_path)
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise ModelError(
            f"{cfg_path} is malformed: {exc}",
            fix="retrain, or restore the file `ponder prm train` wrote",
        ) from exc
    head = ValueHead(config.input_dim, config.hidden)
    head.load_state_dict(load_file(str(weights)))
    head.eval()
    return head, config
