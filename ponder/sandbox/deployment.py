"""Where runners live (Docker containers, host processes): the Deployment interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ponder.sandbox.runtime import RunnerRuntime


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

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release what `start` acquired."""
