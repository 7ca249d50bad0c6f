"""RunConfig: the declarative recipe of one solve run (YAML file plus command-line overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.agents.base import AgentSettings
from ponder.budget import Budget
from ponder.errors import ConfigError


class BudgetConfig(BaseModel):
    """Compute limits of a run (None = unlimited)."""

    model_config = ConfigDict(extra="forbid")

    tokens: int | None = Field(8000, ge=1, description="completion tokens (--budget-tokens)")
    total_tokens: int | None = Field(None, ge=1, description="prompt + completion tokens")
    llm_calls: int | None = Field(None, ge=1)
    sandbox_runs: int | None = Field(None, ge=1)
    seconds: float | None = Field(None, gt=0)

    def to_budget(self) -> Budget:
        return Budget(
            max_completion_tokens=self.tokens,
            max_total_tokens=self.total_tokens,
            max_llm_calls=self.llm_calls,
            max_sandbox_runs=self.sandbox_runs,
            max_seconds=self.seconds,
        )


class RunConfig(BaseModel):
    """Everything that decides a run. `search` holds the strategy's own options."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = "mcts"
    search: dict[str, Any] = Field(default_factory=dict)
    model: str = "local"
    sandbox: str = "docker"
    verifiers: list[str] = Field(default_factory=list, description="empty: the task kind's default")
    seed: int = 0
    cache: bool = True
    interactive: bool = False
    durability: Literal["sync", "async", "exit"] = Field(
        "sync", description="when checkpoints are written (sync: before the next phase starts)"
    )
    checkpoint_every: Literal["phase", "iteration"] = Field(
        "iteration", description="checkpoint grain: after every phase, or per completed iteration"
    )
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    agents: AgentSettings = Field(default_factory=AgentSettings)

    def verifiers_for(self, kind: str) -> list[str]:
        """The verifiers named, else the task kind's defaults."""
        from ponder.kinds import get_kind

        return list(self.verifiers) or list(get_kind(kind).default_verifiers)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml_mapping(path: Path, what: str = "config file", fix: str = "") -> dict[str, Any]:
    """A YAML file of options as a dict; ConfigError naming `what` and the fix otherwise."""
    if not path.is_file():
        raise ConfigError(
            f"{what} {path} does not exist", fix=fix or "pass the path of a YAML run config"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}", fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of options", fix="write `key: value` lines")
    return data


def load_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """The config from `path` (YAML) with `overrides` (e.g. command-line options) on top.

    Override values that are None are ignored, so unset CLI options keep the file's values.
    """
    data = read_yaml_mapping(Path(path)) if path is not None else {}
    clean = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged = _merge(data, clean)
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        source = f"{path}: " if path is not None else ""
        raise ConfigError(
            f"{source}option {where!r}: {first['msg']}",
            fix=f"run options: {', '.join(RunConfig.model_fields)}",
        ) from None
