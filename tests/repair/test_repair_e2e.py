"""Repair end to end through the graph `ponder solve` runs, with the scripted model and the local
sandbox: edits become patches, the repository's tests decide, the run directory is the solve
layout, rejected edits are fed back, the hidden part never reaches a prompt, and the original
repository is untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytest_asyncio

from ponder.config import BudgetConfig, RunConfig
from ponder.repair.task import load_scenario
from ponder.repair.workspace import RepoSnapshot
from ponder.runner import solve_task
from ponder.sandbox import open_sandbox
from ponder.tree import ThoughtTree
from tests.repair.conftest import SCENARIOS
from tests.repair.scripted import RepairScript, scripted_client

FIX_PAGER = (
    "The end index drops one item.\n\npager/core.py\n<<<<<<< SEARCH\n    end = start + per_page - 1\n"
    "=======\n    end = start + per_page\n>>>>>>> REPLACE\n"
)
ALT_FIX_PAGER = (
    "pager/core.py\n<<<<<<< SEARCH\n    return items[start:end]\n=======\n"
    "    return items[start:end + 1]\n>>>>>>> REPLACE\n"
)
MALFORMED = "pager/core.py\n<<<<<<< SEARCH\n    end = start + per_page - 2\n=======\n    end = 0\n>>>>>>> REPLACE\n"
FIX_STORE = (
    "inventory/store.py\n<<<<<<< SEARCH\n        key = sku.strip()\n=======\n"
    "        key = sku.strip().lower()\n>>>>>>> REPLACE\n"
)
FIX_QUERY = (
    "inventory/query.py\n<<<<<<< SEARCH\n    return store.counts().get(sku.lower(), 0)\n=======\n"
    "    return store.counts().get(sku.strip().lower(), 0)\n>>>>>>> REPLACE\n"
)
RUN_FILES = {
    "config.json",
    "task.json",
    "result.json",
    "tree.json",
    "tree.jsonl",
    "events.jsonl",
    "checkpoints.sqlite",
    "report.html",
}


def snapshot_bytes(root) -> dict[str, bytes]:
    snap = RepoSnapshot(root)
    return {f: (snap.root / f).read_bytes() for f in snap.files()}


@pytest_asyncio.fixture
async def local_sandbox():
    sandbox = open_sandbox("local")
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.close()


async def solve(task, script, sandbox, strategy, tmp_path, *, search=None, **config):
    """`ponder solve`'s runner on a repair task with the scripted model."""
    config = RunConfig(strategy=strategy, sandbox="local", search=search or {}, **config)
    out = tmp_path / "run"
    return await solve_task(
        task, config, model=scripted_client(script), sandbox=sandbox, out_dir=out
    )


@pytest.fixture(scope="module")
def pager():
    return load_scenario(SCENARIOS / "offbyone_pagination")


async def test_mcts_correct_edit_passes_and_writes_the_solve_run_dir(
    pager, local_sandbox, tmp_path
):
    before = snapshot_bytes(pager.visible.repository.dir)
    script = RepairScript([FIX_PAGER])
    result = await solve(pager, script, local_sandbox, "mcts", tmp_path)
    assert result.passed_public and result.grade["correct"]  # hidden tests pass too
    assert result.grade["details"]["hidden_tests"] is True
    assert "-    end = start + per_page - 1\n+    end = start + per_page\n" in result.solution
    run = Path(result.run_dir)
    assert {p.name for p in run.iterdir()} >= RUN_FILES
    tree = ThoughtTree.load(run / "tree.json")
    winner = tree.node(result.candidate_id)
    assert tree.winner == winner.id and winner.meta["patch"] == result.solution
    assert "repo_tests" in winner.verdicts and winner.passed is True
    # The root holds what the kind prepared: the first test run and the localization.
    assert tree.root.meta["localization"][0]["path"] == "pager/core.py"
    assert "tests/test_core.py::test_get_page_first" in tree.root.feedback
    assert snapshot_bytes(pager.visible.repository.dir) == before
    # The prompt showed the localized file with line numbers and the failing tests.
    first = script.edit_prompts[0]
    assert "| def get_page(items: list, page: int, per_page: int) -> list:" in first
    assert "tests/test_core.py::test_get_page_first" in first
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert {"start", "phase", "done"} <= {e["event"] for e in events}
    # The kind's defaults are what the run used, recorded: mcts over whole patches.
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["search"]["expand"] == "candidates" and config["search"]["widening"] is True


async def test_malformed_edits_are_rejected_with_their_reason_fed_back(
    pager, local_sandbox, tmp_path
):
    script = RepairScript([MALFORMED, MALFORMED, MALFORMED, FIX_PAGER])
    result = await solve(pager, script, local_sandbox, "mcts", tmp_path, search={"k": 3})
    assert result.passed_public
    # The root's first expansion (greedy 1 + sampled 2) was all rejected; the reasons reached
    # the next prompt.
    assert len(script.edit_prompts) >= 2
    assert "These edits were rejected" in script.edit_prompts[-1]
    assert "search text not found in pager/core.py" in script.edit_prompts[-1]
    # Nothing from the hidden part ever reached a prompt.
    reference = pager.hidden.reference_solution
    hidden_test = "test_hidden_pages"
    for prompt in script.edit_prompts:
        assert reference not in prompt and hidden_test not in prompt


async def test_rejected_nodes_keep_their_reason_and_give_no_solution(
    pager, local_sandbox, tmp_path
):
    result = await solve(pager, RepairScript([MALFORMED]), local_sandbox, "greedy", tmp_path)
    assert result.solution is None and not result.passed_public
    tree = ThoughtTree.load(Path(result.run_dir) / "tree.json")
    failed = [n for n in tree.candidates() if n.parse_error]
    assert failed and "search text not found" in failed[0].parse_error


async def test_an_edit_to_a_test_file_is_rejected(pager, local_sandbox, tmp_path):
    cheat = (
        "tests/test_core.py\n<<<<<<< SEARCH\n    assert get_page(list(range(10)), 1, 3) == [0, 1, 2]\n"
        "=======\n    assert True\n>>>>>>> REPLACE\n"
    )
    result = await solve(pager, RepairScript([cheat]), local_sandbox, "greedy", tmp_path)
    assert result.solution is None
    tree = ThoughtTree.load(Path(result.run_dir) / "tree.json")
    assert "test" in tree.candidates()[0].parse_error


async def test_a_refused_patch_reason_reaches_the_next_revision(pager, local_sandbox, tmp_path):
    """A conftest that skips everything is refused; refine's next prompt carries the reason."""
    cheat = (
        "conftest.py\n<<<<<<< SEARCH\n=======\nimport pytest\n\n\n"
        "def pytest_collection_modifyitems(items):\n    for item in items:\n"
        "        item.add_marker(pytest.mark.skip)\n>>>>>>> REPLACE\n"
    )
    script = RepairScript([cheat, FIX_PAGER])
    result = await solve(pager, script, local_sandbox, "mcts", tmp_path, search={"k": 1})
    assert result.passed_public and "conftest" not in result.solution
    tree = ThoughtTree.load(Path(result.run_dir) / "tree.json")
    refused = [n for n in tree.candidates() if n.parse_error]
    assert refused and "conftest.py, a test file" in refused[0].parse_error
    assert "conftest.py, a test file" in script.edit_prompts[1]


async def test_refine_stacks_a_second_edit_on_the_first_patch(local_sandbox, tmp_path):
    task = load_scenario(SCENARIOS / "two_file_sku")
    script = RepairScript(
        [FIX_STORE, FIX_QUERY], review="Lookups are not normalized yet.\nScore: 4"
    )
    result = await solve(task, script, local_sandbox, "refine", tmp_path)
    assert result.passed_public and result.grade["correct"]
    assert "inventory/store.py" in result.solution and "inventory/query.py" in result.solution
    second = script.edit_prompts[1]
    assert "An earlier attempt made this change" in second and "sku.strip().lower()" in second
    assert "Reviewer: Lookups are not normalized yet." in second
    assert "review" in script.kinds


async def test_best_of_n_returns_the_passing_patch(pager, local_sandbox, tmp_path):
    script = RepairScript([MALFORMED, FIX_PAGER, ALT_FIX_PAGER])
    result = await solve(pager, script, local_sandbox, "best_of_n", tmp_path, search={"n": 3})
    assert result.passed_public and "end = start + per_page\n" in result.solution
    tree = ThoughtTree.load(Path(result.run_dir) / "tree.json")
    assert len(tree.candidates()) == 3


async def test_the_budget_stops_the_search(pager, local_sandbox, tmp_path):
    script = RepairScript([MALFORMED])
    result = await solve(
        pager,
        script,
        local_sandbox,
        "mcts",
        tmp_path,
        search={"max_iterations": 50},
        budget=BudgetConfig(llm_calls=3),
    )
    assert not result.passed_public
    assert result.budget["spent"]["llm_calls"] <= 3
    assert "budget" in result.stop_reason or "llm" in result.stop_reason


async def test_mcts_descends_into_a_partial_fix_and_extends_its_patch(local_sandbox, tmp_path):
    task = load_scenario(SCENARIOS / "two_file_sku")
    script = RepairScript([FIX_STORE, FIX_QUERY], review="Lookups still differ.\nScore: 3")
    result = await solve(
        task, script, local_sandbox, "mcts", tmp_path, search={"k": 1, "max_iterations": 4}
    )
    assert result.passed_public
    tree = ThoughtTree.load(Path(result.run_dir) / "tree.json")
    winner = tree.node(result.candidate_id)
    parent = tree.node(winner.parent)
    assert winner.depth == 2 and parent.kind == "candidate"
    assert 0 < parent.meta["value"] < 1 and parent.critique == "Lookups still differ."
    assert parent.visits == 2  # backpropagated through by its child
    # The child's state is a full patch of the original (both files), rebuildable alone.
    assert "inventory/store.py" in winner.meta["patch"]
    assert "inventory/query.py" in winner.meta["patch"]


async def test_a_repair_task_needs_its_checkout(pager, local_sandbox, tmp_path):
    from ponder.errors import ConfigError
    from ponder.task import Repository

    repository = Repository(url="https://github.com/o/r.git", test_cmd="pytest")
    visible = pager.visible.model_copy(update={"repository": repository})
    task = pager.model_copy(update={"visible": visible})
    with pytest.raises(ConfigError, match="no local checkout") as err:
        await solve(task, RepairScript([FIX_PAGER]), local_sandbox, "greedy", tmp_path)
    assert "--repo-dir" in err.value.fix


@pytest.mark.docker
async def test_mcts_with_each_test_run_in_a_fresh_container(pager, tmp_path):
    """The same loop under `--sandbox docker`: each node's patch tested in a fresh container."""
    before = snapshot_bytes(pager.visible.repository.dir)
    script = RepairScript([MALFORMED, FIX_PAGER])
    config = RunConfig(strategy="mcts", sandbox="docker", search={"k": 2})
    async with open_sandbox("docker") as sandbox:
        result = await solve_task(
            pager, config, model=scripted_client(script), sandbox=sandbox, out_dir=tmp_path / "r"
        )
    assert result.passed_public and result.grade["correct"]
    assert snapshot_bytes(pager.visible.repository.dir) == before
