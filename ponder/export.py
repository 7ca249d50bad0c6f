"""`ponder export`: learning data from thought trees: SFT paths, step-level DPO pairs, PRM labels.

Every tree.json under a run (or bench) directory is read. Outcomes come from candidates'
verdicts (`passed`) or status; a step's value is the share of judged candidates beneath it that
passed (the tree's own Monte-Carlo estimate, as in Math-Shepherd and MCTS-DPO). Output is JSONL
in the layouts TRL's trainers read: SFT `{"messages"}` or `{"prompt", "completion"}`, DPO
`{"prompt", "chosen", "rejected"}`, PRM `{"prompt", "completions", "labels"}` (stepwise).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.tree import Node, ThoughtTree


@dataclass(frozen=True)
class ExportOptions:
    sft_style: str = "messages"  # or "prompt-completion"
    margin: float = 0.25  # DPO: minimum value gap between chosen and rejected siblings
    include_unjudged: bool = False


def find_trees(root: str | Path) -> list[Path]:
    """tree.json files of a run dir (one) or a bench dir (many), in a stable order."""
    p = Path(root)
    if p.is_file() and p.name.endswith(".json"):
        return [p]
    trees = sorted(p.rglob("tree.json")) if p.is_dir() else []
    if not trees:
        raise ConfigError(
            f"no tree.json under {p}",
            fix="pass a run directory (ponder solve --out) or a bench directory",
        )
    return trees


def outcome(node: Node) -> bool | None:
    """A candidate's outcome: its verdicts' pass/fail, else its status; None when unjudged."""
    if node.passed is not None:
        return node.passed
    return {"passed": True, "failed": False}.get(node.status)


class TreeView:
    """Read-only helpers over one tree: the task prompt and subtree success rates."""

    def __init__(self, tree: ThoughtTree, prompt: str) -> None:
        self.tree = tree
        self.prompt = prompt
        self._rate: dict[str, tuple[int, int]] = {}

    def judged(self, node_id: str) -> tuple[int, int]:
        """(passed, judged) candidates in the subtree of `node_id`."""
        if node_id not in self._rate:
            node = self.tree.node(node_id)
            ok = outcome(node) if node.kind == "candidate" else None
            passed, judged = (int(ok), 1) if ok is not None else (0, 0)
            for child in self.tree.children(node_id):
                p, j = self.judged(child.id)
                passed, judged = passed + p, judged + j
            self._rate[node_id] = (passed, judged)
        return self._rate[node_id]

    def value(self, node_id: str) -> float | None:
        passed, judged = self.judged(node_id)
        return passed / judged if judged else None

    def steps(self, node: Node) -> list[str]:
        """The thoughts on the path to `node`, then the node itself when it is a candidate."""
        path = [n for n in self.tree.path(node.id) if n.kind != "root"]
        return [n.text for n in path]


def _prompt(tree: ThoughtTree, tree_file: Path) -> str:
    result = tree_file.parent / "result.json"
    if result.is_file():
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
            task = data.get("task") if isinstance(data.get("task"), dict) else {}
            prompt = task.get("prompt") or data.get("prompt")
            if prompt:
                return prompt
        except json.JSONDecodeError:
            pass
    return tree.root.text


def sft_rows(view: TreeView, options: ExportOptions) -> Iterator[dict[str, Any]]:
    for node in view.tree.candidates():
        if outcome(node) is not True:
            continue
        completion = "\n".join(view.steps(node))
        if options.sft_style == "prompt-completion":
            yield {"prompt": view.prompt, "completion": completion}
        else:
            yield {
                "messages": [
                    {"role": "user", "content": view.prompt},
                    {"role": "assistant", "content": completion},
                ]
            }


def dpo_rows(view: TreeView, options: ExportOptions) -> Iterator[dict[str, Any]]:
    """Step-DPO / MCTS-DPO pairs: siblings after the same prefix whose values differ."""
    for parent in view.tree.nodes():
        scored = [(view.value(c.id), c) for c in view.tree.children(parent.id)]
        scored = [(v, c) for v, c in scored if v is not None]
        if len(scored) < 2:
            continue
        scored.sort(key=lambda vc: -vc[0])
        best_value, best = scored[0]
        prefix = view.steps(parent) if parent.kind != "root" else []
        prompt = view.prompt + ("\n\n" + "\n".join(prefix) if prefix else "")
        for value, worse in scored[1:]:
            if best_value - value >= options.margin:
                yield {
                    "prompt": prompt,
                    "chosen": best.text,
                    "rejected": worse.text,
                }


def prm_rows(view: TreeView, options: ExportOptions) -> Iterator[dict[str, Any]]:
    """One stepwise example per judged candidate; a step is good when a passing candidate lies
    beneath it (Math-Shepherd's hard estimate), the candidate by its own outcome."""
    for node in view.tree.candidates():
        if outcome(node) is None and not options.include_unjudged:
            continue
        path = [n for n in view.tree.path(node.id) if n.kind != "root"]
        labels = [(view.value(n.id) or 0.0) > 0 for n in path[:-1]] + [outcome(node) is True]
        yield {"prompt": view.prompt, "completions": [n.text for n in path], "labels": labels}


FORMATS: dict[str, Callable[[TreeView, ExportOptions], Iterator[dict[str, Any]]]] = {
    "sft": sft_rows,
    "dpo": dpo_rows,
    "prm": prm_rows,
}


def export_rows(
    root: str | Path, fmt: str, options: ExportOptions | None = None
) -> list[dict[str, Any]]:
    """All rows of format `fmt` from every tree under `root`."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    options = options or ExportOptions()
    if options.sft_style not in ("messages", "prompt-completion"):
        raise ConfigError(
            f"unknown SFT style {options.sft_style!r}", fix="use messages or prompt-completion"
        )
    rows = []
    for tree_file in find_trees(root):
        tree = ThoughtTree.load(tree_file)
        view = TreeView(tree, _prompt(tree, tree_file))
        for row in FORMATS[fmt](view, options):
            rows.append(row)
    return rows


def write_jsonl(rows: list[dict[str, Any]], out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out
