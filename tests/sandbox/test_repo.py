"""Repository jobs: a patched copy runs in a fresh container; results are cached by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.sandbox import Limits
from ponder.sandbox.repo import run_repo_job
from ponder.sandbox.repo_cache import RepoCache, repo_state_hash

pytestmark = [pytest.mark.docker]

FIX = """\
--- a/pkg/calc.py
+++ b/pkg/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
TESTS = "python3 -m pytest -q -p no:cacheprovider"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "test_calc.py").write_text(
        "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    return root


@pytest.fixture
def cache(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "cache.sqlite")


async def test_unpatched_repository_fails_its_tests(repo, cache, sandbox_image) -> None:
    outcome = await run_repo_job(
        repo, TESTS, None, Limits(timeout_s=60), image=sandbox_image, cache=cache
    )
    assert outcome.result.status == "error", outcome.result
    assert "1 failed" in outcome.result.stdout
    assert outcome.changed_files == []


async def test_patch_fixes_the_tests_and_the_repeat_is_cached(repo, cache, sandbox_image) -> None:
    before = repo_state_hash(repo)
    first = await run_repo_job(
        repo, TESTS, FIX, Limits(timeout_s=60), image=sandbox_image, cache=cache
    )
    assert first.result.status == "ok", first.result
    assert "1 passed" in first.result.stdout
    assert first.changed_files == ["pkg/calc.py"]
    assert "+    return a + b" in first.diff
    assert not first.cached
    assert repo_state_hash(repo) == before  # the host repository is untouched
    again = await run_repo_job(
        repo, TESTS, FIX, Limits(timeout_s=60), image=sandbox_image, cache=cache
    )
    assert again.cached
    assert again.key == first.key
    assert again.result == first.result


async def test_files_written_by_the_command_are_reported(repo, cache, sandbox_image) -> None:
    command = ["sh", "-c", "echo made > new.txt && rm test_calc.py && whoami 2>/dev/null; id -u"]
    outcome = await run_repo_job(repo, command, None, image=sandbox_image, cache=cache)
    assert outcome.result.status == "ok", outcome.result
    assert sorted(outcome.changed_files) == ["new.txt", "test_calc.py"]
    assert "+made" in outcome.diff
    assert int(outcome.result.stdout.split()[-1]) >= 10001


async def test_a_patch_that_does_not_apply_is_reported(repo, cache, sandbox_image) -> None:
    broken = FIX.replace("return a - b", "return a * b")
    outcome = await run_repo_job(repo, TESTS, broken, image=sandbox_image, cache=cache)
    assert not outcome.patch_applied
    assert outcome.result.status == "error"
    assert outcome.result.note == "patch did not apply"


async def test_repository_container_has_no_network(repo, cache, sandbox_image) -> None:
    command = ["python3", "-c", "import os; print(sorted(os.listdir('/sys/class/net')))"]
    outcome = await run_repo_job(repo, command, None, image=sandbox_image, cache=cache)
    assert outcome.result.stdout == "['lo']\n", outcome.result
