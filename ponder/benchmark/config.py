"""BenchConfig: the recipe of one bench (a YAML file under scenarios/ plus command-line overrides).

Budget unit: a budget B gives a strategy B times the completion tokens that `greedy` spent
on the same task (its `--budget-tokens` for that cell), so strategies compare at equal
generated tokens. Pool strategies (best_of_n, self_consistency, pass_at_k) read B as a
number of samples, each of which costs about one greedy answer, so the two readings agree;
their rows record the tokens the samples actually used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ponder.config import read_yaml_mapping
from ponder.errors import ConfigError

POOL_STRATEGIES = ("best_of_n", "self_consistency", "pass_at_k")
"""Strategies whose every budget is derived from one pool of samples drawn at the largest."""

MIN_UNIT_TOKENS = 32
"""Floor of the budget unit, so a task whose greedy answer was tiny still gets room to search."""


def pool_math_mode(search: dict[str, dict[str, Any]]) -> str | None:
    """The math_mode a recipe gives its pool strategies (None: the run's default). One pool
    serves them all, so they must agree; ValueError when they do not."""
    modes = {
        name: search[name]["math_mode"]
        for name in POOL_STRATEGIES
        if "math_mode" in search.get(name, {})
    }
    if len(set(modes.values())) > 1:
        named = ", ".join(f"{name}: {mode}" for name, mode in modes.items())
        raise ValueError(
            f"the sample pool's strategies ask for different math modes ({named}); give "
            "best_of_n, self_consistency and pass_at_k one math_mode, or run with --no-pool"
        )
    return next(iter(modes.values()), None)


class BenchConfig(BaseModel):
    """Everything that decides a bench; written to DIR/bench.json and checked on resume."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    source: str | None = Field(None, description="Hugging Face dataset name instead of local data")
    strategies: list[str] = Field(default_factory=lambda: ["greedy", "best_of_n", "mcts"])
    budgets: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16])
    limit: int | None = Field(None, ge=1)
    ids: list[str] = Field(default_factory=list)
    seed: int = 0
    shuffle_seed: int | None = Field(None, description="shuffle the tasks before --limit")
    model: str = "local"
    sandbox: str = "docker"
    concurrency: int | None = Field(
        None, ge=1, description="samples in flight (default: 1, or 16 when the model batches)"
    )
    pool: bool = Field(True, description="derive sampling strategies' budgets from one pool")
    pool_rounds: int = Field(500, ge=1, description="subsets drawn per budget for BoN@k")
    search: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-strategy options, e.g. {mcts: {k: 3}}"
    )
    keep_runs: bool = Field(True, description="keep each cell's run directory (tree, report)")
    ray: str | None = Field(None, description="Ray address (auto, ray://host:port, or host:port)")

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, value: list[int]) -> list[int]:
        if not value or any(b < 1 for b in value):
            raise ValueError("budgets must be positive integers, e.g. 1,2,4,8,16")
        return sorted(set(value))

    @field_validator("strategies")
    @classmethod
    def _strategies(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one strategy")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_pool_one_math_mode(self) -> BenchConfig:
        if self.pool:
            pool_math_mode(self.search)
        return self

    def identity(self) -> dict[str, Any]:
        """The fields a resumed bench must share with the original (results would mix otherwise)."""
        return {k: getattr(self, k) for k in ("scenario", "source", "model", "seed", "search")}

    def llm_concurrency(self, batches: bool) -> int:
        """Bound on samples in flight: batching servers get many, in-process models one."""
        if self.concurrency is not None:
            return self.concurrency
        return 16 if batches else 1


def load_bench_config(path: str | Path | None = None, **overrides: Any) -> BenchConfig:
    """The recipe at `path` (optional) with non-None `overrides` on top."""
    data = (
        read_yaml_mapping(Path(path), "bench recipe", "pass a YAML file, see scenarios/")
        if path is not None
        else {}
    )
    data |= {k: v for k, v in overrides.items() if v is not None}
    try:
        return BenchConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(recipe)"
        source = f"{path}: " if path is not None else ""
        options = f"bench options: {', '.join(BenchConfig.model_fields)}"
        raise ConfigError(
            f"{source}bench option {where!r}: {first['msg']}",
            fix=options if first["loc"] else "change the recipe as the message says",
        ) from None
