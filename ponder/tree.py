"""The thought tree: thoughts and candidates in a networkx DiGraph, with JSON and an append-only log.

Persistence comes in two forms:
- `to_json()` / `save()`: the whole tree at once (tree.json of a run directory), in
  networkx's node-link format plus the winner and id counter; `from_json()` / `load()`.
- an append-only JSON Lines log (`attach_log(path)`): every change (add, update,
  backpropagate, winner) is one line, flushed as it happens, so a run's checkpoint never
  needs to hold the tree; `ThoughtTree.replay(path)` rebuilds it (optionally only the first
  `upto` events, to match a checkpoint that recorded `tree.seq`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.errors import PonderError

NodeKind = Literal["root", "thought", "candidate"]
NodeStatus = Literal["open", "failed", "passed", "pruned"]
FORMAT = "ponder.tree/1"


class TreeError(PonderError):
    """A tree operation named a node that does not exist, or a tree file is malformed."""


class Node(BaseModel):
    """One node of the thought tree: a thought (reasoning step / plan) or a candidate."""

    model_config = ConfigDict(extra="forbid")

    id: str
    parent: str | None = None
    kind: NodeKind = "thought"
    text: str = ""
    visits: int = 0
    value_sum: float = 0.0
    prior: float = 1.0
    depth: int = 0
    status: NodeStatus = "open"
    verdicts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    step_scores: list[float] = Field(default_factory=list)
    feedback: str = ""
    critique: str = ""
    answer: str | None = None
    parse_error: str | None = None
    created_at: float = Field(default_factory=time.time)
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def value(self) -> float:
        """Mean backed-up value (0 before the first visit)."""
        return self.value_sum / self.visits if self.visits else 0.0

    @property
    def score(self) -> float | None:
        """Mean verdict score, or None when no verifier has judged this node."""
        scores = [v["score"] for v in self.verdicts.values() if "score" in v]
        return sum(scores) / len(scores) if scores else None

    @property
    def passed(self) -> bool | None:
        """False if any verdict failed, True if some passed and none failed, else None."""
        flags = [v.get("passed") for v in self.verdicts.values()]
        if False in flags:
            return False
        return True if True in flags else None


_FIELDS = set(Node.model_fields)
_READ_ONLY = {"id", "parent", "depth", "kind"}


def _default_rank(node: Node) -> tuple:
    """Candidates rank by: passed verdicts, status, verdict score, backed-up value, age."""
    return (
        node.passed is True,
        node.status == "passed",
        node.status not in ("failed", "pruned"),
        node.score if node.score is not None else -1.0,
        node.value,
        -node.created_at,
    )


class ThoughtTree:
    """A tree of thoughts and candidates. Node ids are "n0" (the root), "n1", ...

    Change nodes only through the methods here (`add_child`, `update`, `add_verdict`,
    `backpropagate`, `set_winner`): each change is one event in the log, so a node edited in
    place would be lost on replay.
    """

    def __init__(self) -> None:
        self.graph: nx.DiGraph = nx.DiGraph()
        self.root_id: str | None = None
        self.winner: str | None = None
        self.seq = 0  # number of changes made (= events in the log)
        self._next_id = 0
        self._candidate_ids: list[str] = []  # index: strategies ask for candidates often
        self._log: IO[str] | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    # ---------------------------------------------------------------- building

    def add_root(self, text: str = "", **fields: Any) -> Node:
        """Create the root (once)."""
        if self.root_id is not None:
            raise TreeError("the tree already has a root", fix="add children to tree.root instead")
        node = Node(id=self._new_id(), parent=None, kind="root", text=text, depth=0, **fields)
        self._insert(node)
        return node

    def add_child(
        self, parent_id: str, kind: NodeKind, text: str, prior: float = 1.0, **fields: Any
    ) -> Node:
        """Add a thought or candidate under `parent_id`; extra fields set Node attributes."""
        parent = self.node(parent_id)
        if kind == "root":
            raise TreeError("a child cannot be a root", fix="use kind 'thought' or 'candidate'")
        node = Node(
            id=self._new_id(),
            parent=parent.id,
            kind=kind,
            text=text,
            prior=prior,
            depth=parent.depth + 1,
            **fields,
        )
        self._insert(node)
        return node

    def update(self, node_id: str, **fields: Any) -> Node:
        """Set fields of a node (e.g. status, verdicts, feedback, critique)."""
        node = self.node(node_id)
        bad = set(fields) - _FIELDS
        if bad or set(fields) & _READ_ONLY:
            raise TreeError(
                f"cannot set {sorted(bad | (set(fields) & _READ_ONLY))} on node {node_id}",
                fix=f"settable fields: {sorted(_FIELDS - _READ_ONLY)}",
            )
        try:
            checked = Node.model_validate(node.model_dump() | fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise TreeError(
                f"bad value for '{first['loc'][0]}' on node {node_id}: {first['msg']}",
                fix="see the field types of ponder.tree.Node",
            ) from None
        for key in fields:
            setattr(node, key, getattr(checked, key))
        self._emit({"op": "update", "id": node_id, "fields": node.model_dump(include=set(fields))})
        return node

    def add_verdict(self, node_id: str, name: str, verdict: Any) -> Node:
        """Record a verifier's verdict (a Verdict or its dict) on a node."""
        data = verdict.model_dump() if hasattr(verdict, "model_dump") else dict(verdict)
        node = self.node(node_id)
        return self.update(node_id, verdicts=node.verdicts | {name: data})

    def backpropagate(self, node_id: str, value: float) -> None:
        """Add `value` to value_sum and 1 to visits of the node and every ancestor."""
        if not math.isfinite(value):
            raise TreeError(f"cannot backpropagate {value!r}", fix="pass a finite value")
        self._backprop(node_id, float(value))
        self._emit({"op": "backprop", "id": node_id, "value": float(value)})

    def set_winner(self, node_id: str | None) -> None:
        """Mark the node whose path won (None clears it)."""
        if node_id is not None:
            self.node(node_id)
        self.winner = node_id
        self._emit({"op": "winner", "id": node_id})

    # ---------------------------------------------------------------- reading

    @property
    def root(self) -> Node:
        if self.root_id is None:
            raise TreeError("the tree is empty", fix="call add_root first")
        return self.node(self.root_id)

    def node(self, node_id: str) -> Node:
        try:
            return self.graph.nodes[node_id]["node"]
        except KeyError:
            raise TreeError(
                f"no node {node_id!r} in the tree", fix="use an id the tree returned"
            ) from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __iter__(self) -> Iterator[Node]:
        return self.nodes()

    def nodes(self) -> Iterator[Node]:
        """All nodes in creation order."""
        for node_id in self.graph.nodes:
            yield self.graph.nodes[node_id]["node"]

    def children(self, node_id: str) -> list[Node]:
        self.node(node_id)
        return [self.graph.nodes[c]["node"] for c in self.graph.successors(node_id)]

    def parent(self, node_id: str) -> Node | None:
        parent = self.node(node_id).parent
        return self.node(parent) if parent is not None else None

    def path(self, node_id: str) -> list[Node]:
        """The nodes from the root down to `node_id`, both included."""
        out = [self.node(node_id)]
        while out[-1].parent is not None:
            out.append(self.node(out[-1].parent))
        return out[::-1]

    def steps(self, node_id: str) -> list[str]:
        """The texts of the thoughts on the path to `node_id` (root and candidates excluded)."""
        return [n.text for n in self.path(node_id) if n.kind == "thought"]

    def leaves(self) -> list[Node]:
        return [n for n in self.nodes() if self.graph.out_degree(n.id) == 0]

    def candidates(self) -> list[Node]:
        """All candidates in creation order (kept in an index: cost grows with candidates only)."""
        return [self.graph.nodes[c]["node"] for c in self._candidate_ids]

    def best_candidate(self, key: Callable[[Node], Any] | None = None) -> Node | None:
        """The candidate maximising `key` (default: passed, then verdict score, then value)."""
        cands = self.candidates()
        return max(cands, key=key or _default_rank) if cands else None

    def winning_path(self) -> list[Node]:
        return self.path(self.winner) if self.winner is not None else []

    # ---------------------------------------------------------------- whole-tree JSON

    def to_json(self) -> dict[str, Any]:
        """The tree as a JSON-ready dict (networkx node-link data plus winner and counters)."""
        g = nx.DiGraph()
        for node in self.nodes():
            g.add_node(node.id, **node.model_dump())
        g.add_edges_from(self.graph.edges)
        return {
            "format": FORMAT,
            "root": self.root_id,
            "winner": self.winner,
            "next_id": self._next_id,
            "seq": self.seq,
            "graph": nx.node_link_data(g, edges="edges"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ThoughtTree:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TreeError(
                f"not a Ponder tree (format {data.get('format') if isinstance(data, dict) else None!r})",
                fix=f"pass a tree.json written by ThoughtTree.save ({FORMAT})",
            )
        g = nx.node_link_graph(data["graph"], directed=True, edges="edges")
        tree = cls()
        for node_id, attrs in g.nodes(data=True):
            node = Node.model_validate({"id": node_id} | attrs)
            tree.graph.add_node(node_id, node=node)
            if node.kind == "candidate":
                tree._candidate_ids.append(node_id)
        tree.graph.add_edges_from(g.edges)
        tree.root_id, tree.winner = data["root"], data["winner"]
        tree._next_id, tree.seq = data["next_id"], data.get("seq", 0)
        return tree

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ThoughtTree:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TreeError(
                f"tree file {path} does not exist", fix="pass a run's tree.json"
            ) from None
        except json.JSONDecodeError as exc:
            raise TreeError(
                f"{path}: invalid JSON at line {exc.lineno}", fix="pass a tree.json"
            ) from None
        return cls.from_json(data)

    # ---------------------------------------------------------------- append-only log

    def attach_log(self, path: str | Path) -> None:
        """Append every later change to `path` (JSON Lines, flushed per line).

        To go on with a logged run, use `ThoughtTree.replay(path, attach=True)` instead.
        """
        path = Path(path)
        self.close_log()
        self._log = path.open("a", encoding="utf-8")

    append_log = attach_log  # the name the design brief used

    def close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call `listener(event)` on every change (for live displays)."""
        self._listeners.append(listener)

    @classmethod
    def replay(
        cls, log_path: str | Path, upto: int | None = None, attach: bool = False
    ) -> ThoughtTree:
        """Rebuild a tree from its log (the first `upto` events when given).

        A torn last line (the process was killed mid-write) is ignored, and cut off when
        `attach` is True; with `attach` the tree goes on appending to the same log.
        """
        path = Path(log_path)
        tree = cls()
        good_bytes = 0
        if path.exists():
            with path.open("rb") as fh:
                for raw in fh:
                    if upto is not None and tree.seq >= upto:
                        break
                    if not raw.endswith(b"\n"):
                        break  # torn write
                    try:
                        event = json.loads(raw)
                    except json.JSONDecodeError as exc:
                        raise TreeError(
                            f"{path}: event {tree.seq + 1} is not valid JSON ({exc.msg})",
                            fix="the log is corrupt; restore it or start a new run",
                        ) from None
                    tree._apply(event)
                    good_bytes += len(raw)
        if attach:
            if path.exists() and path.stat().st_size != good_bytes:
                with path.open("r+b") as fh:
                    fh.truncate(good_bytes)
            tree.attach_log(path)
        return tree

    def _apply(self, event: dict[str, Any]) -> None:
        op = event["op"]
        if op == "add":
            node = Node.model_validate(event["node"])
            self._next_id = max(self._next_id, int(node.id[1:]) + 1)
            self._insert(node, emit=False)
        elif op == "update":
            node = self.node(event["id"])
            checked = Node.model_validate(node.model_dump() | event["fields"])
            for key in event["fields"]:
                setattr(node, key, getattr(checked, key))
        elif op == "backprop":
            self._backprop(event["id"], event["value"])
        elif op == "winner":
            self.winner = event["id"]
        else:
            raise TreeError(
                f"unknown tree event {op!r}", fix="replay a log written by this version"
            )
        self.seq += 1

    # ---------------------------------------------------------------- internals

    def _new_id(self) -> str:
        node_id = f"n{self._next_id}"
        self._next_id += 1
        return node_id

    def _insert(self, node: Node, emit: bool = True) -> None:
        self.graph.add_node(node.id, node=node)
        if node.kind == "candidate":
            self._candidate_ids.append(node.id)
        if node.parent is None:
            self.root_id = node.id
        else:
            self.graph.add_edge(node.parent, node.id)
        if emit:
            self._emit({"op": "add", "node": node.model_dump()})

    def _backprop(self, node_id: str, value: float) -> None:
        for node in self.path(node_id):
            node.visits += 1
            node.value_sum += value

    def _emit(self, event: dict[str, Any]) -> None:
        self.seq += 1
        event["seq"] = self.seq
        if self._log is not None:
            self._log.write(json.dumps(event, ensure_ascii=False) + "\n")
            self._log.flush()
        for listener in self._listeners:
            listener(event)
