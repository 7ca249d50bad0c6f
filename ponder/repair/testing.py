"""Judging a repository's test command at a patch: per-test outcomes from a signed verdict.

Every run goes through the patch judge (`ponder.repair.judging`): a driver process outside the
test process starts the command with a pytest plug-in loaded from outside the repository, and
signs what the plug-in reported. Output is kept for prompts, never read for outcomes.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pydantic import TypeAdapter

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.llm.paths import cache_dir
from ponder.repair.judging import JUDGE_VERSION, Verdict, judge_run, read_verdict
from ponder.repair.patches import apply_patch
from ponder.repair.policy import CONFIG_FILES, TEST_DIRS, is_startup_path, is_test_path
from ponder.repair.sources import EditRejected
from ponder.repair.workspace import RepoSnapshot, copy_repo, write_changes
from ponder.sandbox.base import Job, Limits, Sandbox
from ponder.sandbox.repo_cache import RepoCache, repo_state_hash, result_key
from ponder.verifiers.prompting import clip

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


STORED = TypeAdapter(RunOutput)  # a RunOutput as JSON in the on-disk cache


def prepare_command(command: str) -> str:
    """pytest commands get `-rA` (per-test lines in the output shown to the agent)."""
    if "pytest" not in command or re.search(r"(^|\s)-r\w*A", command):
        return command
    return f"{command} -rA"


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


class RepoRunner:
    """Judged runs of a repository's test command at a patch, on a sandbox's `run_in_tree`.

    The patch is applied by our own parser (text edits only) to a temp copy of the
    repository; the judge goes to an extra directory beside it, outside the repository, and
    test files and test configuration are `protected_in_run`: under the docker sandbox a fresh
    container per run where both are root-owned and read-only, so the test process can change
    neither them nor the judge; under the local sandbox a temp copy on this machine (NOT
    isolated). Results are cached in memory by (repository state, patch, command), and verified
    ones of an isolating sandbox on disk (`RepoCache`) by (repository state, patch, command,
    judge version, sandbox); the state is hashed once per checkout.
    Fresh runs are charged to `budget`; a metered sandbox admits them first.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        budget: Budget | None = None,
        timeout_s: float = 300.0,
        cache: RepoCache | bool | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.budget = budget
        self.timeout_s = timeout_s
        self.isolated = getattr(sandbox, "isolated", True)
        self.name = "docker" if self.isolated else "local"
        # On disk: a RepoCache; True: the default file (opened on first use); None: that file
        # when the sandbox isolates (a local run is cheap, and weaker evidence); False: none.
        self._store: RepoCache | bool = self.isolated if cache is None else cache
        self._cache: dict[tuple[str, str, str], RunOutput] = {}
        self._states: dict[Path, str] = {}

    async def run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        """The judged run of `command` on `snapshot` + `patch` (cached, else a fresh run)."""
        if snapshot.root not in self._states:
            self._states[snapshot.root] = await asyncio.to_thread(repo_state_hash, snapshot.root)
        state = self._states[snapshot.root]
        key = (state, patch, command)
        if key in self._cache:
            return replace(self._cache[key], cached=True)
        if self._store is True:
            path = cache_dir() / "sandbox-repo-results.sqlite"
            self._store = await asyncio.to_thread(RepoCache, path)
        store = self._store or None
        if store is not None:
            described = self.sandbox.describe()
            disk_key = result_key(state, patch, ["judge", JUDGE_VERSION, command], described)
            if hit := await asyncio.to_thread(store.get, disk_key):
                out = self._cache[key] = STORED.validate_json(hit)
                return replace(out, cached=True)
        out = await self._run(snapshot, patch, prepare_command(command))
        if out.status != "sandbox_error":
            self._cache[key] = out
        if store is not None and out.verdict is not None:
            await asyncio.to_thread(store.put, disk_key, STORED.dump_json(out).decode())
        return out

    async def _run(self, snapshot: RepoSnapshot, patch: str, command: str) -> RunOutput:
        limits = Limits(
            timeout_s=self.timeout_s + 30,
            cpu_s=int(self.timeout_s) + 30,
            output_bytes=VERDICT_BYTES,
        )
        name = f"ponder-judge-{secrets.token_hex(6)}"
        judge = judge_run(command, f"../{name}", self.timeout_s)  # beside the repository
        job = Job(command=judge.argv(), stdin=judge.stdin, limits=limits)
        with tempfile.TemporaryDirectory(prefix="ponder-repair-") as tmp:
            try:  # our own parser: the run sees plain text edits only
                changes = apply_patch(snapshot, patch) if patch else {}
                tree = await asyncio.to_thread(copy_repo, snapshot.root, Path(tmp) / "repo")
                await asyncio.to_thread(write_changes, tree, changes)
            except (EditRejected, ValueError) as exc:
                reason = getattr(exc, "reason", str(exc))
                return RunOutput(
                    "error", None, reason, judge_error=f"the patch does not apply: {reason}"
                )
            result = await self.sandbox.run_in_tree(
                job, tree, root_owned=protected_in_run, extra_dirs={name: judge.files}
            )
            if self.budget is not None:  # before any await: the admission's hold just ended
                self.budget.record_sandbox(result.duration_s)
        if result.status == "sandbox_error":
            note = "\n".join(x for x in (result.stderr, result.note) if x)
            return RunOutput(result.status, None, note, judge_error=note or "no run")
        verdict, error = read_verdict(result.stdout, judge.key)  # the signed verdict, or why not
        if verdict is None:
            output, exit_code, status = result.stdout, result.exit_code, result.status
        else:
            output, exit_code = verdict.output, verdict.exit_code
            status = "timeout" if verdict.timed_out else ("ok" if exit_code == 0 else "error")
        output = clip(output, OUTPUT_LIMIT)
        return RunOutput(
            status, exit_code, output, result.duration_s, verdict=verdict, judge_error=error
        )


def runner_for(
    sandbox: Sandbox | None, budget: Budget | None = None, timeout_s: float = 300.0
) -> RepoRunner:
    """The repository runner over a run's sandbox (`--sandbox docker` or `local`)."""
    if sandbox is None:
        raise ConfigError(
            "repository tests need a sandbox", fix="run with --sandbox docker (or local)"
        )
    return RepoRunner(sandbox, budget, timeout_s=timeout_s)


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
    """Per-test outcomes from the run's signed verdict; without one (no verdict, or a refused
    patch), everything failed."""
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
    unjudged = "refused" if run.status == "refused" else "no verdict"
    for test_id in dict.fromkeys(fail_to_pass + pass_to_pass):
        report.outcomes[test_id] = outcome_of(test_id, verdict) if verdict else unjudged
    report.f2p_passed = [t for t in fail_to_pass if report.outcomes[t] == PASSED]
    report.f2p_failed = [t for t in fail_to_pass if report.outcomes[t] != PASSED]
    report.p2p_broken = [t for t in pass_to_pass if report.outcomes[t] != PASSED]
    return report


def refused_report(reason: str, fail_to_pass: list[str], pass_to_pass: list[str]) -> TestReport:
    """The report of a patch the policy refused: nothing ran, nothing passed."""
    refused = RunOutput("refused", None, "", judge_error=f"patch refused: {reason}")
    return score_run(refused, fail_to_pass, pass_to_pass)


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
    if len(text) <= limit:
        return text
    # A failure section reads from its top; any other output (a crash, a timeout) ends in why.
    return text[:limit] + "\n..." if start >= 0 else "...\n" + text[-limit:]


async def run_and_score(
    runner: RepoRunner,
    snapshot: RepoSnapshot,
    patch: str,
    command: str,
    fail_to_pass: list[str],
    pass_to_pass: list[str],
) -> TestReport:
    """The judged run of `command` on `snapshot` + `patch`, scored (`grading.grade` first
    refuses a patch that touches tests)."""
    return score_run(await runner.run(snapshot, patch, command), fail_to_pass, pass_to_pass)
