"""A finished run read back: the graph state around every phase (its checkpoints, written at
phase grain) and the thought tree at any point of its log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.graph import InlineSqliteSaver
from ponder.runner import CHECKPOINTS, THREAD, TREE, TREE_LOG
from ponder.tree import ThoughtTree


@dataclass
class PhaseRun:
    """One phase the graph ran: the state it read and the state it left."""

    phase: str
    before: dict[str, Any]
    after: dict[str, Any]


def phases(run_dir: str | Path) -> list[PhaseRun]:
    """Every phase of a run made with `checkpoint_every="phase"`, in order."""
    saver = InlineSqliteSaver.open(Path(run_dir) / CHECKPOINTS, "phase")
    try:
        items = sorted(saver.list(THREAD), key=lambda t: t.metadata["step"])
    finally:
        saver.close()
    states = [dict(t.checkpoint["channel_values"]) for t in items if t.metadata["step"] >= 0]
    # The graph routes on `next`: the phase that ran at a step is the previous step's `next`.
    return [PhaseRun(b["next"], b, a) for b, a in zip(states, states[1:], strict=False)]


def only(runs: list[PhaseRun], phase: str) -> list[PhaseRun]:
    return [r for r in runs if r.phase == phase]


def tree_at(run_dir: str | Path, seq: int) -> ThoughtTree:
    """The tree as it was when the log held `seq` events (a phase's `tree_seq`)."""
    return ThoughtTree.replay(Path(run_dir) / TREE_LOG, upto=seq)


def final_tree(run_dir: str | Path) -> ThoughtTree:
    return ThoughtTree.load(Path(run_dir) / TREE)


def events(run_dir: str | Path) -> list[dict[str, Any]]:
    lines = (Path(run_dir) / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
