"""Running a repository's test command at a patch, and reading per-test outcomes from it.

Runners (a registry, chosen by name): `subprocess` (a temp copy on this machine; NOT
isolated, for tests and machines without Docker), `docker` (a fresh container per run via
`ponder.sandbox.repo.run_repo_job`), `pool` (any `Sandbox`, the repository sent as job files).
Every runner caches results by the hash of (repository state, patch, command).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.repair.patches import apply_patch
from ponder.repair.workspace import RepoSnapshot, copy_repo, write_changes

OUTPUT_LIMIT = 20_000


@dataclass
class RunOutput:
    """What one test-command run did."""

    status: str  # ok | error | timeout | sandbox_error | ...
    exit_code: int | None
    output: str
    duration_s: float = 0.0
    cached: bool = False


class RepoRunner(Protocol):
    """Runs `command` in a fresh copy of `snapshot` with `patch` applied."""

    name: str
    isolated: bool

    async def run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput: ...


def repo_fingerprint(snapshot: RepoSnapshot) -> str:
    """A hash of every file's path and bytes (the repository state)."""
    digest = hashlib.sha256()
    for rel in snapshot.files():
        digest.update(rel.encode() + b"\0")
        digest.update((snapshot.root / rel).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def cache_key(snapshot_hash: str, patch: str, command: str) -> str:
    blob = "\0".join((snapshot_hash, patch, command)).encode()
    return hashlib.sha256(blob).hexdigest()


def prepare_command(command: str) -> str:
    """pytest commands get `-rA` (per-test outcome lines) and no cache directory writes."""
    if "pytest" not in command:
        return command
    extra = []
    if not re.search(r"(^|\s)-r\w*A", command):
        extra.append("-rA")
    if "cacheprovider" not in command:
        extra.append("-p no:cacheprovider")
    return f"{command} {' '.join(extra)}".strip()


def _trim(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    half = OUTPUT_LIMIT // 2
    return f"{text[:half]}\n... [output cut] ...\n{text[-half:]}"


class CachingRunner:
    """Base of the runners: the (repository, patch, command) cache, and budget accounting."""

    name = "runner"
    isolated = True

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget
        self._cache: dict[str, RunOutput] = {}
        self._fingerprints: dict[Path, str] = {}

    async def run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        if snapshot.root not in self._fingerprints:
            self._fingerprints[snapshot.root] = repo_fingerprint(snapshot)
        key = cache_key(self._fingerprints[snapshot.root], patch, command)
        if key in self._cache:
            hit = self._cache[key]
            return RunOutput(hit.status, hit.exit_code, hit.output, hit.duration_s, cached=True)
        out = await self._run(snapshot, patch, prepare_command(command))
        if out.status != "sandbox_error":
            self._cache[key] = out
        if self.budget is not None:
            self.budget.record_sandbox(out.duration_s)
        return out

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        raise NotImplementedError


class SubprocessRunner(CachingRunner):
    """A temp copy on this machine and a subprocess: fast, NOT isolated."""

    name = "subprocess"
    isolated = False

    def __init__(
        self, budget: Budget | None = None, timeout_s: float = 120.0, python: str | None = None
    ) -> None:
        super().__init__(budget)
        self.timeout_s = timeout_s
        self.python = python  # replaces a leading `python3` / `python` (e.g. sys.executable)

    def argv(self, command: str) -> list[str]:
        argv = shlex.split(command)
        if self.python and argv and argv[0] in ("python", "python3"):
            argv[0] = self.python
        return argv

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ponder-repair-") as tmp:
            work = copy_repo(snapshot.root, Path(tmp) / "repo")
            write_changes(work, apply_patch(snapshot, patch))
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            proc = await asyncio.create_subprocess_exec(
                *self.argv(command),
                cwd=work,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                stdout, _ = await asyncio.wait_for(proc.communicate(), self.timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                return RunOutput(
                    "timeout", None, f"timed out after {self.timeout_s}s", time.monotonic() - start
                )
        code = proc.returncode
        return RunOutput(
            "ok" if code == 0 else "error",
            code,
            _trim(stdout.decode("utf-8", "replace")),
            time.monotonic() - start,
        )


class SandboxRunner(CachingRunner):
    """Any `Sandbox` (the Docker pool, or local): the patched repository goes in as job files."""

    name = "pool"

    def __init__(self, sandbox, budget: Budget | None = None, timeout_s: float = 120.0) -> None:
        super().__init__(budget)
        self.sandbox = sandbox
        self.isolated = getattr(sandbox, "isolated", True)
        self.timeout_s = timeout_s

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        from ponder.sandbox.base import Job, Limits

        changes = apply_patch(snapshot, patch)
        files = {rel: snapshot.read(rel) for rel in snapshot.files()}
        files = {rel: text for rel, text in files.items() if text is not None}
        files.update({rel: text for rel, text in changes.items() if text is not None})
        for rel, text in changes.items():
            if text is None:
                files.pop(rel, None)
        limits = Limits(
            timeout_s=self.timeout_s, cpu_s=int(self.timeout_s), output_bytes=OUTPUT_LIMIT
        )
        job = Job(files=files, command=["sh", "-c", command], limits=limits)
        result = await self.sandbox.run(job)
        output = (result.stdout + ("\n" + result.stderr if result.stderr else "")).strip()
        return RunOutput(result.status, result.exit_code, _trim(output), result.duration_s)


class DockerRepoRunner(CachingRunner):
    """A fresh container per run through `ponder.sandbox.repo.run_repo_job` (which caches too)."""

    name = "docker"

    def __init__(self, budget: Budget | None = None, timeout_s: float = 300.0) -> None:
        super().__init__(budget)
        self.timeout_s = timeout_s

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        from ponder.sandbox.base import Limits
        from ponder.sandbox.repo import run_repo_job

        limits = Limits(
            timeout_s=self.timeout_s, cpu_s=int(self.timeout_s), output_bytes=OUTPUT_LIMIT
        )
        job = await run_repo_job(snapshot.root, command, patch or None, limits)
        result = job.result
        output = "\n".join(x for x in (result.stdout, result.stderr, result.note) if x).strip()
        return RunOutput(
            result.status, result.exit_code, _trim(output), result.duration_s, cached=job.cached
        )


RUNNERS: dict[str, Callable[..., CachingRunner]] = {
    "subprocess": SubprocessRunner,
    "docker": DockerRepoRunner,
}


def make_runner(name: str, budget: Budget | None = None, **options) -> CachingRunner:
    """A runner by name (`pool` needs a sandbox: use SandboxRunner(sandbox) directly)."""
    try:
        factory = RUNNERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown test runner {name!r}", fix=f"use one of: {', '.join(RUNNERS)}"
        ) from None
    return factory(budget=budget, **options)


# ---------------------------------------------------------------- outcomes


_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(\S+?)(?:\s+-\s+.*)?$", re.M)


@dataclass
class TestReport:
    """Per-test outcomes of one run, scored against FAIL_TO_PASS / PASS_TO_PASS."""

    __test__ = False  # not a pytest test class

    status: str
    exit_code: int | None
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    f2p_passed: list[str] = field(default_factory=list)
    f2p_failed: list[str] = field(default_factory=list)
    p2p_broken: list[str] = field(default_factory=list)
    p2p_total: int = 0
    output: str = ""
    cached: bool = False
    duration_s: float = 0.0

    @property
    def resolved(self) -> bool:
        """Every FAIL_TO_PASS passes and no PASS_TO_PASS broke (or, without ids, exit 0)."""
        if self.f2p_passed or self.f2p_failed:
            return not self.f2p_failed and not self.p2p_broken
        return self.exit_code == 0 and not self.p2p_broken

    def value(self) -> float:
        """In [0, 1]: fraction of FAIL_TO_PASS fixed, scaled down by the PASS_TO_PASS broken."""
        total = len(self.f2p_passed) + len(self.f2p_failed)
        if total:
            fixed = len(self.f2p_passed) / total
        else:
            ran = len(self.passed) + len(self.failed)
            fixed = 1.0 if self.exit_code == 0 else (len(self.passed) / ran if ran else 0.0)
        kept = 1.0 - (len(self.p2p_broken) / self.p2p_total if self.p2p_total else 0.0)
        return round(fixed * kept, 4)

    def headline(self) -> str:
        """One or two lines: resolved, or which required tests still fail or broke."""
        lines = ["All required tests pass."] if self.resolved else []
        if self.f2p_failed:
            lines.append("Still failing: " + ", ".join(self.f2p_failed))
        if self.p2p_broken:
            lines.append("Broken by the change (passed before): " + ", ".join(self.p2p_broken))
        if not lines:
            lines.append(f"The test command failed (exit code {self.exit_code}).")
        return "\n".join(lines)

    def summary(self) -> str:
        """A short text for prompts: which tests fail, and the failure output's tail."""
        lines = []
        if self.resolved:
            lines.append("All required tests pass.")
        if self.f2p_failed:
            lines.append("Still failing: " + ", ".join(self.f2p_failed))
        if self.p2p_broken:
            lines.append("Broken by the change (passed before): " + ", ".join(self.p2p_broken))
        if not self.resolved:
            lines.append(failure_excerpt(self.output))
        return "\n".join(x for x in lines if x)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("output")
        return data | {"resolved": self.resolved, "value": self.value()}


def _matches(test_id: str, seen: str) -> bool:
    return seen == test_id or seen.startswith(test_id + "[")


def score_run(run: RunOutput, fail_to_pass: list[str], pass_to_pass: list[str]) -> TestReport:
    """Per-test outcomes from pytest's `-rA` summary; other commands: by exit code."""
    passed, failed = [], []
    for kind, test_id in _OUTCOME.findall(run.output):
        (passed if kind in ("PASSED", "XFAIL", "SKIPPED") else failed).append(test_id)
    summarized = bool(passed or failed)

    def ok(test_id: str) -> bool:
        if any(_matches(test_id, f) for f in failed):
            return False
        if any(_matches(test_id, p) for p in passed):
            return True
        return run.exit_code == 0 and not summarized

    report = TestReport(
        status=run.status,
        exit_code=run.exit_code,
        passed=passed,
        failed=failed,
        p2p_total=len(pass_to_pass),
        output=run.output,
        cached=run.cached,
        duration_s=run.duration_s,
    )
    for test_id in fail_to_pass:
        (report.f2p_passed if ok(test_id) else report.f2p_failed).append(test_id)
    report.p2p_broken = [t for t in pass_to_pass if not ok(t)]
    return report


def failure_excerpt(output: str, limit: int = 900) -> str:
    """The most useful part of a failing run: pytest's first failure sections, else the tail."""
    text = output
    start = text.find("= FAILURES =")
    if start < 0:
        start = text.find("= ERRORS =")
    if start >= 0:
        text = text[text.find("\n", start) + 1 :]
        for marker in ("= PASSES =", "short test summary info", "= warnings summary"):
            end = text.find(marker)
            if end > 0:
                text = text[: text.rfind("\n", 0, end) + 1]
    text = text.strip()
    if len(text) > limit:
        text = text[:limit] + "\n..."
    return text


async def run_and_score(
    runner: RepoRunner,
    snapshot: RepoSnapshot,
    patch: str,
    command: str,
    fail_to_pass: list[str],
    pass_to_pass: list[str],
) -> TestReport:
    return score_run(await runner.run(snapshot, patch, command), fail_to_pass, pass_to_pass)
