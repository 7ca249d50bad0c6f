"""Tree runs (`Sandbox.run_in_tree`): a job on a one-off runner holding a copy of a directory
tree (a repository's tests), with protected paths and extra directories beside it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ponder.errors import SandboxError
from ponder.sandbox import Job, Limits, Sandbox, open_sandbox
from ponder.sandbox.repo_cache import repo_state_hash

TESTS = "python3 -m pytest -q -p no:cacheprovider"
JUDGE = {"judge-1a2b": {"note.txt": "judge files\n"}}


def protected(rel: str) -> bool:
    """Test files are root's; `tests/` is sealed (nothing can be added to it)."""
    return rel.startswith("tests/") or rel == "tests/"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "tests" / "test_calc.py").write_text(
        "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    return root


def shell(script: str) -> Job:
    return Job(command=["sh", "-c", script], limits=Limits(timeout_s=60, cpu_s=60))


# What the job tries on the protected paths and the extra directory; one line each.
PROBE = """
id -u
pwd
cat ../judge-1a2b/note.txt
(echo x >> tests/test_calc.py) 2>/dev/null && echo wrote-test || echo test-read-only
(echo x > tests/new_test.py) 2>/dev/null && echo added-test || echo tests-sealed
(rm -f tests/test_calc.py) 2>/dev/null; test -f tests/test_calc.py && echo kept || echo removed
(echo x > ../judge-1a2b/note.txt) 2>/dev/null && echo wrote-judge || echo judge-read-only
(echo x > pkg/calc.py) 2>/dev/null && echo code-writable || echo code-read-only
"""


@pytest.mark.docker
async def test_docker_tree_run_protects_tests_and_the_extra_directory(repo, sandbox_image):
    before = repo_state_hash(repo)
    async with open_sandbox("docker", image=sandbox_image) as sandbox:
        tests = await sandbox.run_in_tree(shell(TESTS), repo, root_owned=protected)
        probe = await sandbox.run_in_tree(
            shell(PROBE), repo, root_owned=protected, extra_dirs=JUDGE
        )
        net = await sandbox.run_in_tree(
            shell("python3 -c \"import os; print(sorted(os.listdir('/sys/class/net')))\""), repo
        )
        with pytest.raises(SandboxError, match="replace a directory of the image"):
            await sandbox.run_in_tree(shell("true"), repo, extra_dirs={"etc": {"x": "y"}})
    assert tests.status == "error" and "1 failed" in tests.stdout, tests
    assert probe.status == "ok", probe
    uid, cwd, *rest = probe.stdout.split()
    assert int(uid) >= 10001 and cwd == "/work"
    assert rest == [
        "judge",
        "files",
        "test-read-only",
        "tests-sealed",
        "kept",
        "judge-read-only",
        "code-writable",
    ]
    assert net.stdout == "['lo']\n", net
    assert repo_state_hash(repo) == before  # the host tree is untouched


async def test_local_tree_run_uses_this_interpreter_in_a_temp_copy(repo):
    """`python3` is the deployment's interpreter (which has pytest); the extra directory is
    beside the copy; protected files are read-only (NOT isolated: the user could undo it)."""
    before = repo_state_hash(repo)
    async with open_sandbox("local") as sandbox:
        tests = await sandbox.run_in_tree(shell(TESTS), repo, root_owned=protected)
        which = await sandbox.run_in_tree(
            shell("python3 -c 'import sys; print(sys.prefix)'; pwd; cat ../judge-1a2b/note.txt"),
            repo,
            extra_dirs=JUDGE,
        )
        modes = await sandbox.run_in_tree(
            shell("test -w tests/test_calc.py && echo writable || echo read-only"),
            repo,
            root_owned=protected,
        )
        with pytest.raises(SandboxError, match="not a plain name"):
            await sandbox.run_in_tree(shell("true"), repo, extra_dirs={"../up": {}})
    assert tests.status == "error" and "1 failed" in tests.stdout, tests
    assert "NOT isolated" in tests.note
    prefix, cwd, *note = which.stdout.split()
    assert prefix == sys.prefix and cwd != str(repo) and note == ["judge", "files"]
    assert modes.stdout.strip() == ("writable" if _root() else "read-only")
    assert repo_state_hash(repo) == before


def _root() -> bool:
    import os

    return os.geteuid() == 0  # root writes read-only files anyway


async def test_a_sandbox_without_tree_runs_raises_a_clear_error(repo):
    from ponder.sandbox.deployment import Deployment

    class JobsOnly(Sandbox):
        async def run(self, job):
            raise AssertionError

    with pytest.raises(SandboxError, match="cannot run a job in a directory tree"):
        await JobsOnly().run_in_tree(shell("true"), repo)

    class Bare(Deployment):
        name = "bare"

        async def spawn(self, slot):
            raise AssertionError

        async def destroy(self, worker):
            pass

    with pytest.raises(SandboxError, match="bare deployment cannot"):
        await Bare().run_in_tree(shell("true"), repo)
