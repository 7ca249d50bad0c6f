"""End to end with the scripted model: edits become patches, tests decide, the tree and run
directory are written, rejected edits are fed back, and the original repository is untouched."""

from __future__ import annotations

import json
import shutil

import pytest

from ponder.budget import Budget
from ponder.repair.runner import repair
from ponder.repair.task import load_scenario
from ponder.repair.workspace import RepoSnapshot
from ponder.tree import ThoughtTree
from ponder.verifiers.chooser import ChooserVerifier
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


def snapshot_bytes(root) -> dict[str, bytes]:
    snap = RepoSnapshot(root)
    return {f: (snap.root / f).read_bytes() for f in snap.files()}


async def repair_with(task, script, runner, strategy, *, tokens, **kwargs):
    """`repair` with the scripted model and a token budget; the other arguments pass through."""
    return await repair(
        task,
        scripted_client(script),
        runner,
        strategy=strategy,
        budget=Budget(max_total_tokens=tokens),
        **kwargs,
    )


@pytest.fixture(scope="module")
def pager():
    return load_scenario(SCENARIOS / "offbyone_pagination")


async def test_mcts_correct_edit_passes_and_writes_run_dir(pager, runner, tmp_path):
    before = snapshot_bytes(pager.spec.repo_dir)
    script = RepairScript([FIX_PAGER])
    result = await repair_with(
        pager, script, runner, "mcts", tokens=50_000, out_dir=tmp_path / "run"
    )
    assert result.resolved and result.grade["resolved"]
    assert "-    end = start + per_page - 1\n+    end = start + per_page\n" in result.patch
    run = tmp_path / "run"
    assert (run / "patch.diff").read_text() == result.patch
    saved = json.loads((run / "result.json").read_text())
    assert saved["resolved"] is True and saved["budget"]["spent"]["llm_calls"] >= 1
    tree = ThoughtTree.load(run / "tree.json")
    assert tree.winner == result.node and tree.node(result.node).meta["patch"] == result.patch
    assert "pager/core.py" in (run / "report.md").read_text()
    assert snapshot_bytes(pager.spec.repo_dir) == before
    # The prompt showed the localized file with line numbers and the failing tests.
    assert "pager/core.py" in script.edit_prompts[0]
    assert (
        "| def get_page(items: list, page: int, per_page: int) -> list:" in script.edit_prompts[0]
    )
    assert "tests/test_core.py::test_get_page_first" in script.edit_prompts[0]


async def test_malformed_edit_is_rejected_with_reason_and_the_loop_continues(pager, runner):
    script = RepairScript([MALFORMED, MALFORMED, MALFORMED, FIX_PAGER])
    result = await repair_with(
        pager, script, runner, "mcts", tokens=80_000, options={"width": 3, "review": False}
    )
    assert result.resolved
    # The first expansion (greedy 1 + sampled 2) was all rejected; the reason reached the next prompt.
    assert len(script.edit_prompts) >= 2
    assert "These edits were rejected" in script.edit_prompts[-1]
    assert "search text not found in pager/core.py" in script.edit_prompts[-1]
    # Nothing from the hidden part ever reached a prompt.
    hidden = pager.hidden.reference_patch
    assert all(hidden not in p and "reference.patch" not in p for p in script.edit_prompts)


async def test_rejected_nodes_keep_their_reason_in_the_tree(pager, runner, tmp_path):
    script = RepairScript([MALFORMED])
    result = await repair_with(
        pager, script, runner, "single", tokens=20_000, out_dir=tmp_path / "run"
    )
    assert not result.resolved and result.patch == ""
    tree = ThoughtTree.load(tmp_path / "run" / "tree.json")
    failed = [n for n in tree.candidates() if n.parse_error]
    assert failed and "search text not found" in failed[0].parse_error
    assert (tmp_path / "run" / "patch.diff").read_text() == ""


async def test_edit_to_a_test_file_is_rejected(pager, runner):
    cheat = (
        "tests/test_core.py\n<<<<<<< SEARCH\n    assert get_page(list(range(10)), 1, 3) == [0, 1, 2]\n"
        "=======\n    assert True\n>>>>>>> REPLACE\n"
    )
    result = await repair_with(pager, RepairScript([cheat]), runner, "single", tokens=20_000)
    assert not result.resolved and result.patch == ""


async def test_a_refused_patch_reason_reaches_the_next_expansion(pager, runner, tmp_path):
    """A conftest that skips everything is refused; the next prompt carries the policy's reason."""
    cheat = (
        "conftest.py\n<<<<<<< SEARCH\n=======\nimport pytest\n\n\n"
        "def pytest_collection_modifyitems(items):\n    for item in items:\n"
        "        item.add_marker(pytest.mark.skip)\n>>>>>>> REPLACE\n"
    )
    script = RepairScript([cheat, FIX_PAGER])
    result = await repair_with(
        pager, script, runner, "refine", tokens=60_000, out_dir=tmp_path / "run"
    )
    assert result.resolved and "conftest" not in result.patch
    tree = ThoughtTree.load(tmp_path / "run" / "tree.json")
    refused = [n for n in tree.candidates() if n.parse_error]
    assert refused and "conftest.py, a test file" in refused[0].parse_error
    assert "conftest.py, a test file" in refused[0].feedback
    assert "conftest.py, a test file" in script.edit_prompts[1]


async def test_refine_stacks_a_second_edit_on_the_first_patch(runner):
    task = load_scenario(SCENARIOS / "two_file_sku")
    script = RepairScript(
        [FIX_STORE, FIX_QUERY], review="Lookups are not normalized yet.\nScore: 4"
    )
    result = await repair_with(task, script, runner, "refine", tokens=60_000)
    assert result.resolved
    assert "inventory/store.py" in result.patch and "inventory/query.py" in result.patch
    second = script.edit_prompts[1]
    assert "An earlier attempt made this change" in second and "sku.strip().lower()" in second
    assert "Reviewer: Lookups are not normalized yet." in second
    assert "review" in script.kinds


async def test_best_of_n_uses_the_chooser_among_passing_patches(pager, runner, tmp_path):
    script = RepairScript([FIX_PAGER, ALT_FIX_PAGER], choose="2")
    client = scripted_client(script)
    budget = Budget(max_total_tokens=50_000)
    result = await repair(
        pager,
        client,
        runner,
        strategy="best_of_n",
        options={"n": 2},
        budget=budget,
        chooser=ChooserVerifier(client, budget),
        out_dir=tmp_path / "r",
    )
    assert result.resolved and "end + 1" in result.patch
    assert "choose" in script.kinds
    tree = ThoughtTree.load(tmp_path / "r" / "tree.json")
    assert "chooser" in tree.node(result.node).verdicts


async def test_budget_stops_the_search(pager, runner):
    script = RepairScript([MALFORMED])
    budget = Budget(max_llm_calls=2)
    result = await repair(
        pager,
        scripted_client(script),
        runner,
        strategy="mcts",
        options={"iterations": 50, "review": False},
        budget=budget,
    )
    assert not result.resolved
    assert budget.spent.llm_calls <= 3


async def test_apply_writes_the_patch_to_the_repository(pager, runner, tmp_path):
    scenario = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "offbyone_pagination", scenario)
    task = load_scenario(scenario)
    result = await repair_with(
        task, RepairScript([FIX_PAGER]), runner, "single", tokens=20_000, apply=True
    )
    assert result.applied
    assert "end = start + per_page\n" in (scenario / "repo" / "pager" / "core.py").read_text()


@pytest.mark.docker
async def test_mcts_with_the_docker_repository_runner(pager, tmp_path):
    """The same loop with each node's patch tested in a fresh container."""
    from ponder.repair.testing import DockerRepoRunner

    before = snapshot_bytes(pager.spec.repo_dir)
    script = RepairScript([MALFORMED, FIX_PAGER])
    result = await repair_with(
        pager,
        script,
        DockerRepoRunner(timeout_s=120),
        "mcts",
        tokens=50_000,
        options={"width": 2, "review": False},
        out_dir=tmp_path / "run",
    )
    assert result.resolved and result.runner == "docker" and result.isolated
    assert result.grade["resolved"]
    assert snapshot_bytes(pager.spec.repo_dir) == before


async def test_mcts_descends_into_a_partial_fix_and_extends_its_patch(runner, tmp_path):
    task = load_scenario(SCENARIOS / "two_file_sku")
    script = RepairScript([FIX_STORE, FIX_QUERY], review="Lookups still differ.\nScore: 3")
    result = await repair_with(
        task,
        script,
        runner,
        "mcts",
        tokens=60_000,
        options={"width": 1, "iterations": 4},
        out_dir=tmp_path / "run",
    )
    assert result.resolved
    tree = ThoughtTree.load(tmp_path / "run" / "tree.json")
    winner = tree.node(result.node)
    parent = tree.node(winner.parent)
    assert winner.depth == 2 and parent.kind == "candidate"
    assert 0 < parent.meta["value"] < 1 and parent.critique == "Lookups still differ."
    assert parent.visits == 2  # backpropagated through by its child
    # The child's state is a full patch of the original (both files), rebuildable alone.
    assert (
        "inventory/store.py" in winner.meta["patch"]
        and "inventory/query.py" in winner.meta["patch"]
    )
