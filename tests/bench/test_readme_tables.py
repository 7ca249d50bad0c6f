"""The README's bench tables come from the recipes and results files it names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ponder.benchmark.config import load_bench_config

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
RECIPES = sorted((REPO / "scenarios").glob("readme-*.yaml"))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_made_the_results_the_readme_shows(recipe: Path) -> None:
    match = re.search(r"--out (bench/results/\S+)", recipe.read_text(encoding="utf-8"))
    assert match, f"{recipe.name} names no --out directory in its header"
    out = REPO / match.group(1)
    config = load_bench_config(recipe)
    manifest = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    for key in ("scenario", "limit", "strategies", "budgets", "model", "seed"):
        assert manifest[key] == getattr(config, key), f"{out}/bench.json {key} != {recipe.name}"
    tasks = {json.loads(line)["task_id"] for line in (out / "results.jsonl").open()}
    assert len(tasks) == config.limit
    assert f"scenarios/{recipe.name}" in README
    assert f"{match.group(1)}/results.jsonl" in README
