"""Typed jobs and results, and the `Sandbox` interface every deployment serves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ponder.errors import SandboxError

Status = Literal["ok", "error", "timeout", "oom", "output_limit", "sandbox_error"]


class Limits(BaseModel):
    """Resource limits for one job."""

    timeout_s: float = Field(10.0, gt=0)
    cpu_s: int = Field(10, ge=1)
    memory_mb: int = Field(512, ge=16)
    output_bytes: int = Field(64_000, ge=1)
    processes: int = Field(64, ge=1)
    file_size_mb: int = Field(16, ge=1)


class Job(BaseModel):
    """What to run: files plus a command, or Python code with optional stdin.

    When `code` is set the runner writes it to `main.py` and runs `python3 main.py`;
    otherwise it writes `files` into a fresh directory and runs `command`.
    With `judge`, `code` is a candidate solution run under the judge (see
    `ponder.sandbox.judge`), and `secret` is what only the judge reads: never a file, an
    argument or an environment variable of the job.
    """

    code: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    command: list[str] = Field(default_factory=list)
    stdin: str = ""
    env: dict[str, str] = Field(default_factory=dict)  # extra variables; the host's never pass
    limits: Limits = Field(default_factory=Limits)
    judge: bool = False
    secret: str = Field("", repr=False)


class ExecResult(BaseModel):
    """What a job did. stdout/stderr are truncated with a visible marker past the limit."""

    status: Status
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    cpu_s: float | None = None  # user + system CPU of the job's main process
    peak_memory_kb: int | None = None
    retried: bool = False
    note: str = ""
    report: str = Field(
        "", repr=False
    )  # a judged job's verdict records (only the judge writes them)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Sandbox(ABC):
    """Runs jobs in isolation. Callers see only this; deployments (docker, local) differ."""

    isolated: bool = True

    @abstractmethod
    async def run(self, job: Job) -> ExecResult:
        """Run one job and return its result; never raises for a job's own failure."""

    async def run_in_tree(
        self,
        job: Job,
        tree: Path,
        *,
        root_owned: Callable[[str], bool] | None = None,
        extra_dirs: dict[str, dict[str, str]] | None = None,
    ) -> ExecResult:
        """Run `job` on a one-off runner whose working directory holds a copy of `tree` (a
        repository's tests); see `Deployment.run_in_tree` for `root_owned` and `extra_dirs`."""
        raise SandboxError(
            f"the sandbox {self.describe()} cannot run a job in a directory tree",
            fix="use the docker or local sandbox (--sandbox docker|local)",
        )

    def describe(self) -> str:
        """What runs the jobs, for provenance (a docker pool names its image)."""
        return type(self).__name__

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Bring the deployment up (e.g. start the container pool)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Tear the deployment down."""

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
