"""Judging a repository's test command at a patch: per-test outcomes from a signed verdict.

Every run goes through the patch judge (`ponder.repair.judging`): a driver process outside the
test process starts the command with a pytest plug-in loaded from outside the repository, and
signs what the plug-in reported. Output is kept for prompts, never read for outcomes.

Runners (a registry, chosen by name): `local` (a temp copy on this machine; NOT
isolated, for tests and machines without Docker), `docker` (a fresh container per run via
`ponder.sandbox.repo.run_repo_job`), `pool` (any `Sandbox`, the repository sent as job files).
Every runner caches results by the hash of (repository state, patch, command).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.repair.judging import JUDGE_VERSION, Verdict, judge_run, read_verdict
from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.policy import (
    CONFIG_FILES,
    TEST_DIRS,
    PatchPolicy,
    PatchRefused,
    is_startup_path,
    is_test_path,
)
from ponder.repair.sources import EditRejected
from ponder.repair.workspace import RepoSnapshot, copy_repo, write_changes

OUTPUT_LIMIT = 20_000
VERDICT_BYTES = 8 << 20  # room for the signed verdict of a large suite


@dataclass
class RunOutput:
    """What one judged test-command run did."""

    status: str  # ok | error | timeout | sandbox_error | ...
    exit_code: int | None
    output: str
    duration_s: float = 0.0
    cached: bool = False
    verdict: Verdict | None = None
    judge_error: str = ""  # why there is no verdict

    def to_json(self) -> str:
        data = asdict(self) | {"verdict": self.verdict.model_dump() if self.verdict else None}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RunOutput:
        data = json.loads(text)
        verdict = data.pop("verdict")
        return cls(**data, verdict=Verdict.model_validate(verdict) if verdict else None)


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
    blob = "\0".join((snapshot_hash, patch, command, JUDGE_VERSION)).encode()
    return hashlib.sha256(blob).hexdigest()


def prepare_command(command: str) -> str:
    """pytest commands get `-rA` (per-test lines in the output shown to the agent)."""
    if "pytest" not in command or re.search(r"(^|\s)-r\w*A", command):
        return command
    return f"{command} -rA"


def _trim(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    half = OUTPUT_LIMIT // 2
    return f"{text[:half]}\n... [output cut] ...\n{text[-half:]}"


def judged_output(status: str, exit_code: int | None, stdout: str, key: bytes) -> RunOutput:
    """A run's result from the driver's stdout: the signed verdict, or why there is none."""
    verdict, error = read_verdict(stdout, key)
    if verdict is None:
        return RunOutput(status, exit_code, _trim(stdout), judge_error=error)
    status = "timeout" if verdict.timed_out else ("ok" if verdict.exit_code == 0 else "error")
    return RunOutput(
        status, verdict.exit_code, _trim(verdict.output), verdict.duration_s, verdict=verdict
    )


def protected_in_run(rel: str) -> bool:
    """Files a sandboxed run makes root-owned and read-only (tests, test configuration), and
    directories it seals (`tests/`: no file can be added there during the run)."""
    if rel.endswith("/"):
        return any(part in TEST_DIRS for part in rel.strip("/").split("/"))
    name = rel.rsplit("/", 1)[-1]
    return (
        is_test_path(rel)
        or is_startup_path(rel)
        or name in CONFIG_FILES
        or name in ("setup.cfg", "pyproject.toml")
    )


class CachingRunner:
    """Base of the runners: the (repository, patch, command) cache, and budget accounting."""

    name = "runner"
    isolated = True

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget
        self._cache: dict[str, RunOutput] = {}
        self._fingerprints: dict[Path, str] = {}

    def fingerprint(self, snapshot: RepoSnapshot) -> str:
        if snapshot.root not in self._fingerprints:
            self._fingerprints[snapshot.root] = repo_fingerprint(snapshot)
        return self._fingerprints[snapshot.root]

    async def run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        key = cache_key(self.fingerprint(snapshot), patch, command)
        if key in self._cache:
            hit = self._cache[key]
            return replace(hit, cached=True)
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

    def command(self, command: str) -> str:
        head, sep, rest = command.partition(" ")
        if self.python and head in ("python", "python3"):
            return f"{shlex.quote(self.python)}{sep}{rest}"
        return command

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ponder-repair-") as tmp:
            work = copy_repo(snapshot.root, Path(tmp) / "repo")
            try:
                write_changes(work, apply_patch(snapshot, patch))
            except (EditRejected, ValueError) as exc:
                reason = getattr(exc, "reason", str(exc))
                return RunOutput(
                    "error", None, reason, judge_error=f"the patch does not apply: {reason}"
                )
            judge = judge_run(
                self.command(command), f"{tmp}/judge-{secrets.token_hex(6)}", self.timeout_s
            )
            Path(judge.directory).mkdir()
            for name, text in judge.files.items():
                (Path(judge.directory) / name).write_text(text, encoding="utf-8")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PONDER_"))}
            proc = await asyncio.create_subprocess_exec(
                *judge.argv(self.python or sys.executable),
                cwd=work,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                stdout, _ = await asyncio.wait_for(
                    proc.communicate(judge.stdin.encode()), self.timeout_s + 30
                )
            except TimeoutError:
                proc.kill()
                await proc.wait()
                return RunOutput(
                    "timeout",
                    None,
                    f"timed out after {self.timeout_s}s",
                    time.monotonic() - start,
                    judge_error="the judge did not answer in time",
                )
        out = judged_output("error", proc.returncode, stdout.decode("utf-8", "replace"), judge.key)
        out.duration_s = round(time.monotonic() - start, 3)
        return out


class SandboxRunner(CachingRunner):
    """Any `Sandbox` (the Docker pool, or local): the patched repository goes in as job files,
    the judge beside it in a dot-directory with a random name."""

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
        judge = judge_run(command, f".ponder-judge-{secrets.token_hex(6)}", self.timeout_s)
        files.update({f"{judge.directory}/{name}": text for name, text in judge.files.items()})
        limits = Limits(
            timeout_s=self.timeout_s + 30,
            cpu_s=int(self.timeout_s) + 30,
            output_bytes=VERDICT_BYTES,
        )
        job = Job(files=files, command=judge.argv(), stdin=judge.stdin, limits=limits)
        result = await self.sandbox.run(job)
        if result.status == "sandbox_error":
            return RunOutput(result.status, None, result.note, judge_error=result.note)
        out = judged_output(result.status, result.exit_code, result.stdout, judge.key)
        out.duration_s = result.duration_s
        return out


class DockerRepoRunner(CachingRunner):
    """A fresh container per run through `ponder.sandbox.repo.run_repo_job`.

    The judge goes to a root-owned directory outside /work, and test files and test
    configuration are root-owned too, so the test process can neither change them nor the judge.
    Verified outcomes are cached on disk by (repository state, patch, command, judge version).
    """

    name = "docker"

    def __init__(self, budget: Budget | None = None, timeout_s: float = 300.0) -> None:
        super().__init__(budget)
        self.timeout_s = timeout_s

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        from ponder.sandbox import repo as repo_jobs
        from ponder.sandbox.base import Limits
        from ponder.sandbox.repo_cache import RepoCache, repo_state_hash, result_key

        client = await asyncio.to_thread(repo_jobs.docker_client)
        image = await asyncio.to_thread(repo_jobs.find_image, client)
        key = result_key(
            await asyncio.to_thread(repo_state_hash, snapshot.root),
            patch,
            ["judge", JUDGE_VERSION, command],
            image or "",
        )
        store = await asyncio.to_thread(RepoCache)
        if hit := await asyncio.to_thread(store.get, key):
            return replace(RunOutput.from_json(hit), cached=True)
        limits = Limits(
            timeout_s=self.timeout_s + 30,
            cpu_s=int(self.timeout_s) + 30,
            output_bytes=VERDICT_BYTES,
        )
        try:  # `git apply` in the job sees only plain text edits, re-made by our own parser
            canonical = make_patch(snapshot, apply_patch(snapshot, patch)) if patch else ""
        except EditRejected as exc:
            return RunOutput(
                "error", None, exc.reason, judge_error=f"the patch does not apply: {exc.reason}"
            )
        judge = judge_run(command, f"/ponder-judge-{secrets.token_hex(6)}", self.timeout_s)
        job = await repo_jobs.run_repo_job(
            snapshot.root,
            judge.argv(),
            canonical or None,
            limits,
            image=image,
            use_cache=False,
            stdin=judge.stdin,
            extra_dirs={judge.directory: judge.files},
            root_owned=protected_in_run,
        )
        result = job.result
        if result.status == "sandbox_error" or not job.patch_applied:
            note = "\n".join(x for x in (result.stderr, result.note) if x)
            return RunOutput(result.status, None, note, judge_error=note or "no run")
        out = judged_output(result.status, result.exit_code, result.stdout, judge.key)
        out.duration_s = result.duration_s
        if out.verdict is not None:
            await asyncio.to_thread(store.put, key, out.to_json())
        return out


RUNNERS: dict[str, Callable[..., CachingRunner]] = {
    "local": lambda budget=None, **kw: SubprocessRunner(budget, python=sys.executable, **kw),
    "docker": DockerRepoRunner,
}
"""Runners by the sandbox name they stand for (`--sandbox docker|local`)."""


def make_runner(name: str, budget: Budget | None = None, **options) -> CachingRunner:
    """A runner by sandbox name (`pool` needs a sandbox: use SandboxRunner(sandbox) directly)."""
    try:
        factory = RUNNERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown sandbox {name!r} for repository tests",
            fix=f"use one of: {', '.join(RUNNERS)}",
        ) from None
    return factory(budget=budget, **options)


def runner_for(sandbox, budget: Budget | None = None, timeout_s: float = 300.0) -> CachingRunner:
    """The repository runner a run's sandbox implies: a fresh container per run (test files
    root-owned) when the sandbox isolates (`--sandbox docker`), a temp copy run by this
    interpreter when it does not (`--sandbox local`)."""
    if sandbox is None:
        raise ConfigError(
            "repository tests need a sandbox", fix="run with --sandbox docker (or local)"
        )
    name = "docker" if getattr(sandbox, "isolated", True) else "local"
    return make_runner(name, budget, timeout_s=timeout_s)


# ---------------------------------------------------------------- outcomes

PASSED = "passed"


@dataclass
class TestReport:
    """Per-test outcomes of one judged run, scored against FAIL_TO_PASS / PASS_TO_PASS.

    A test counts as passed only when the judge saw it run and pass; skipped, xfailed,
    deselected, missing or renamed tests are failures, and any integrity problem (a refused
    patch, no signed verdict, a cut-short session, tampering) fails the whole run.
    """

    __test__ = False  # not a pytest test class

    status: str
    exit_code: int | None
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # required id -> outcome
    f2p_passed: list[str] = field(default_factory=list)
    f2p_failed: list[str] = field(default_factory=list)
    p2p_broken: list[str] = field(default_factory=list)
    p2p_total: int = 0
    problems: list[str] = field(default_factory=list)
    output: str = ""
    cached: bool = False
    duration_s: float = 0.0

    @property
    def resolved(self) -> bool:
        """Every FAIL_TO_PASS and PASS_TO_PASS test ran and passed, and nothing looked forged
        (without ids: at least one test ran, and every test that ran passed)."""
        if self.problems:
            return False
        if self.outcomes:
            return not self.f2p_failed and not self.p2p_broken
        return bool(self.passed) and not self.failed

    def value(self) -> float:
        """In [0, 1]: fraction of FAIL_TO_PASS fixed, scaled down by the PASS_TO_PASS broken."""
        if self.problems:
            return 0.0
        total = len(self.f2p_passed) + len(self.f2p_failed)
        if total:
            fixed = len(self.f2p_passed) / total
        else:
            ran = len(self.passed) + len(self.failed)
            fixed = len(self.passed) / ran if ran else 0.0
        kept = 1.0 - (len(self.p2p_broken) / self.p2p_total if self.p2p_total else 0.0)
        return round(fixed * kept, 4)

    def _failing(self, ids: list[str]) -> str:
        return ", ".join(
            f"{t} ({self.outcomes[t]})" if self.outcomes.get(t, PASSED) != "failed" else t
            for t in ids
        )

    def headline(self) -> str:
        """One or two lines: resolved, or which required tests still fail or broke, and why."""
        lines = ["All required tests pass."] if self.resolved else []
        lines += [f"Not accepted: {p}" for p in self.problems[:3]]
        if self.f2p_failed:
            lines.append("Still failing: " + self._failing(self.f2p_failed))
        if self.p2p_broken:
            lines.append("Broken by the change (passed before): " + self._failing(self.p2p_broken))
        if not lines and not self.outcomes:
            bad = ", ".join(self.failed[:5])
            lines.append(f"Tests not passing: {bad}" if bad else "No test ran and passed.")
        return "\n".join(lines)

    def summary(self) -> str:
        """A short text for prompts: which tests fail and why, and the failure output's tail."""
        lines = [self.headline()]
        if not self.resolved and not self.problems:
            lines.append(failure_excerpt(self.output))
        return "\n".join(x for x in lines if x)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("output")
        return data | {"resolved": self.resolved, "value": self.value()}


def _matches(test_id: str, seen: str) -> bool:
    return seen == test_id or seen.startswith(test_id + "[")


def outcome_of(test_id: str, verdict: Verdict) -> str:
    """A required test's outcome: `passed` only if every matching test ran and passed."""
    found = [out for seen, out in verdict.tests.items() if _matches(test_id, seen)]
    if found:
        return next((out for out in found if out != PASSED), PASSED)
    if any(_matches(test_id, d) for d in verdict.deselected):
        return "deselected"
    path = test_id.split("::", 1)[0]
    if any(err == path or err.startswith(path + "::") for err in verdict.collect_errors):
        return "collection error"
    return "missing"


def score_run(run: RunOutput, fail_to_pass: list[str], pass_to_pass: list[str]) -> TestReport:
    """Per-test outcomes from the run's signed verdict; without one, everything failed."""
    report = TestReport(
        status=run.status,
        exit_code=run.exit_code,
        p2p_total=len(pass_to_pass),
        output=run.output,
        cached=run.cached,
        duration_s=run.duration_s,
    )
    verdict = run.verdict
    if verdict is None:
        report.problems = [run.judge_error or "the run gave no verdict"]
    else:
        report.problems = verdict.integrity()
        for test_id, out in sorted(verdict.tests.items()):
            (report.passed if out == PASSED else report.failed).append(test_id)
    for test_id in dict.fromkeys(fail_to_pass + pass_to_pass):
        report.outcomes[test_id] = outcome_of(test_id, verdict) if verdict else "no verdict"
    report.f2p_passed = [t for t in fail_to_pass if report.outcomes[t] == PASSED]
    report.f2p_failed = [t for t in fail_to_pass if report.outcomes[t] != PASSED]
    report.p2p_broken = [t for t in pass_to_pass if report.outcomes[t] != PASSED]
    return report


def refused_report(reason: str, fail_to_pass: list[str], pass_to_pass: list[str]) -> TestReport:
    """The report of a patch the policy refused: nothing ran, nothing passed."""
    required = list(dict.fromkeys(fail_to_pass + pass_to_pass))
    return TestReport(
        status="refused",
        exit_code=None,
        outcomes={t: "refused" for t in required},
        f2p_failed=list(fail_to_pass),
        p2p_broken=list(pass_to_pass),
        p2p_total=len(pass_to_pass),
        problems=[f"patch refused: {reason}"],
    )


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
    policy: PatchPolicy | None = None,
) -> TestReport:
    """Judge `patch`; with a `policy`, a patch it refuses is not run and fails with the reason."""
    if policy is not None:
        try:
            policy.check(snapshot, patch, snapshot.root)
        except PatchRefused as exc:
            return refused_report(exc.reason, fail_to_pass, pass_to_pass)
    return score_run(await runner.run(snapshot, patch, command), fail_to_pass, pass_to_pass)
