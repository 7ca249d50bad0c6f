"""End to end: `ponder bench` on real HumanEval tasks, the real runtime and the Docker sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.benchmark.config import BenchConfig
from ponder.benchmark.report import build_report
from ponder.benchmark.results import ResultsStore
from ponder.benchmark.session import run_local
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.scenarios import get_scenario

IDS = ["HumanEval/0", "HumanEval/2"]


def canonical_llm() -> ScriptedLLM:
    """Answers each HumanEval prompt with its canonical solution; plan steps are one line."""
    tasks = {t.visible.entry_point: t for t in get_scenario("humaneval").tasks(ids=IDS)}

    def reply(messages, params):
        text = messages[-1]["content"]
        for entry, task in tasks.items():
            if f"def {entry}(" in text and ("Complete the following" in text or "Fix" in text):
                return [f"```python\n{task.hidden.reference_solution}\n```"]
        return ["Walk the list once and compare neighbours."]

    return ScriptedLLM(reply)


@pytest.mark.docker
async def test_bench_two_humaneval_tasks_in_docker(tmp_path: Path) -> None:
    from ponder.sandbox import open_sandbox
    from ponder.sandbox.engine import docker_client
    from ponder.sandbox.image import build_image, find_image

    image = find_image(docker_client(timeout_s=60)) or build_image(offline=True).tag
    config = BenchConfig(
        scenario="humaneval",
        ids=IDS,
        strategies=["greedy", "best_of_n", "mcts"],
        budgets=[1, 2],
        model="scripted",
        sandbox="docker",
    )
    model = ModelClient(canonical_llm())
    async with open_sandbox("docker", pool_size=2, image=image) as sandbox:
        result = await run_local(config, tmp_path, model=model, sandbox=sandbox)
    rows = {r.key: r for r in ResultsStore(tmp_path).rows()}
    assert result.cells == 2 * (1 + 2 * 2) == len(rows)
    assert all(r.error is None for r in rows.values()), [r.error for r in rows.values()]
    assert all(r.correct for r in rows.values())
    greedy = rows[("HumanEval/0", "greedy", 1)]
    assert greedy.grade["base"] is True and greedy.grade["plus"] is True
    assert greedy.completion_tokens > 0 and greedy.sandbox_runs >= 1 and greedy.llm_calls == 1
    assert Path(greedy.run_dir, "result.json").is_file()
    mcts = rows[("HumanEval/2", "mcts", 2)]
    assert mcts.budget_tokens == 2 * max(32, rows[("HumanEval/2", "greedy", 1)].completion_tokens)
    pool = rows[("HumanEval/0", "best_of_n", 2)]
    assert pool.source == "pool" and pool.pool_size == 2 and pool.score == 1.0
    report = build_report(tmp_path)
    assert {(r.strategy, r.budget) for r in report.summary} == {
        ("greedy", 1),
        ("best_of_n", 1),
        ("best_of_n", 2),
        ("mcts", 1),
        ("mcts", 2),
    }
    # no prompt the model saw carried a hidden test or the canonical solution's check()
    for messages, _ in model.llm.calls:
        assert all("def check(candidate)" not in m["content"] for m in messages)
