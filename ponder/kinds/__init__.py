"""Task kinds (code, math, repair, plug-ins) by name: built-ins, `register_kind`, and the
`ponder.kinds` entry-point group, whose entries name a `Kind` subclass.

Kept free of imports at module level: `ponder.agents` imports `ponder.kinds.answers`, and
the kinds import the agents' parsing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ponder.errors import ConfigError
from ponder.plugins import Registry

if TYPE_CHECKING:
    from ponder.agents.base import AgentSettings
    from ponder.kinds.base import Kind
    from ponder.sandbox.base import Sandbox
    from ponder.task import Grade, Task

ENTRY_POINT_GROUP = "ponder.kinds"


def _adapt(name: str, kind: object) -> Kind:
    """A Kind instance from what was registered or loaded (a Kind, or a Kind subclass)."""
    from ponder.kinds.base import Kind

    if isinstance(kind, type) and issubclass(kind, Kind):
        kind = kind()
    if not isinstance(kind, Kind):
        raise ConfigError(
            f"task kind {name!r} is a {type(kind).__name__}, not a Kind",
            fix="register (or name in the entry point) a subclass of ponder.kinds.base.Kind",
        )
    return kind


KINDS: Registry[Kind] = Registry(
    "task kind",
    ENTRY_POINT_GROUP,
    lazy={
        "code": "ponder.kinds.code:CodeKind",
        "math": "ponder.kinds.math:MathKind",
        "repair": "ponder.kinds.repair:RepairKind",
    },
    adapt=_adapt,
)


def register_kind(kind: Kind) -> Kind:
    """Make `kind` (an instance) the kind of tasks whose `kind` field is `kind.name`."""
    return KINDS.register(kind.name, kind)


def known_kinds() -> list[str]:
    return sorted(KINDS.names())


def get_kind(name: str) -> Kind:
    """The kind registered as `name`."""
    return KINDS.get(name)


def kind_of(task) -> Kind:
    """The kind of `task` (a Task, a VisibleTask, or anything with a `kind` name)."""
    return get_kind(getattr(task, "kind", None) or "")


def kind_for(task, settings: AgentSettings) -> Kind:
    """The kind of `task` as the agents' settings use it (math may be program-aided)."""
    return kind_of(task).variant(settings)


async def grade(task: Task, solution: str, sandbox: Sandbox | None = None) -> Grade:
    """Grade a final solution against the hidden part. Call only after the search ended."""
    return await kind_of(task).grade(task, solution, sandbox)
