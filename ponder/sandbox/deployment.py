"""Where runners live (Docker containers, host processes): the Deployment interface."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponder.errors import SandboxError
from ponder.sandbox.base import ExecResult, Job
from ponder.sandbox.runtime import RunnerRuntime

# A directory placed beside a tree run's working directory (`../NAME` from the job's cwd).
EXTRA_DIR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(eq=False)
class Worker:
    """One running runner: its runtime plus the deployment's handle (container, process)."""

    name: str
    runtime: RunnerRuntime
    handle: Any = field(repr=False, default=None)


class Deployment(ABC):
    """Starts and stops runners; a new place to run (remote, cloud) is a new subclass."""

    name: str = "abstract"
    isolated: bool = True

    def describe(self) -> str:
        """What runs the jobs, for provenance."""
        return self.name if self.isolated else f"{self.name} (not isolated)"

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare (connect to the engine, remove stale leftovers)."""

    @abstractmethod
    async def spawn(self, slot: int) -> Worker:
        """Start one runner, ready to answer (it has answered a ping)."""

    @abstractmethod
    async def destroy(self, worker: Worker) -> None:
        """Stop a runner and remove everything it used; never raises."""

    async def run_in_tree(
        self,
        job: Job,
        tree: Path,
        *,
        root_owned: Callable[[str], bool] | None = None,
        extra_dirs: dict[str, dict[str, str]] | None = None,
    ) -> ExecResult:
        """Run `job` once, on a fresh runner whose working directory holds a copy of `tree`.

        The runner is started for this job alone and removed after it; `tree` itself is never
        written. Repository paths for which `root_owned` answers True (a directory's path with a
        trailing slash: sealed) are the deployment's to protect: root-owned and read-only where
        it isolates. `extra_dirs` (name -> {file name: text}) go beside the working directory,
        outside it, read-only: the job reaches them at `../NAME`. Called after `start`.
        """
        raise SandboxError(
            f"the {self.name} deployment cannot run a job in a directory tree",
            fix="use the docker or local sandbox (open_sandbox('docker'|'local'))",
        )

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release what `start` acquired."""


def check_extra_dirs(extra_dirs: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    """`extra_dirs` with plain names only (one path part; no file name with a slash either)."""
    for name, files in (extra_dirs or {}).items():
        if not EXTRA_DIR_NAME.fullmatch(name) or name in ("work", "..") or set(name) == {"."}:
            raise SandboxError(
                f"extra directory {name!r} is not a plain name", fix="pass e.g. 'judge-1a2b'"
            )
        for file in files:
            if not EXTRA_DIR_NAME.fullmatch(file):
                raise SandboxError(
                    f"file {file!r} in extra directory {name!r} is not a plain name",
                    fix="pass files directly inside the directory",
                )
    return dict(extra_dirs or {})
