"""What a new candidate builds on (kept apart from `ponder.kinds.base`, which imports the
agents: the agents import this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ponder.tree import Node


@dataclass(frozen=True)
class Origin:
    """What a new candidate builds on: the candidate it revises (None: written from scratch),
    the run's root (where a kind keeps what it prepared), and why recent siblings failed to
    parse (fed back so the model does not repeat them)."""

    parent: Node | None = None
    root: Node | None = None
    rejected: tuple[str, ...] = ()


FROM_SCRATCH = Origin()
