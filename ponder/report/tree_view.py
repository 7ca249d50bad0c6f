"""Renders a ThoughtTree (and a run's result) as one self-contained HTML file: no network needed."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ponder import __version__
from ponder.tree import Node, ThoughtTree

_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _num(x: float) -> str:
    return f"{x:.2f}"


def _verdicts(node: Node) -> list[tuple[str, dict[str, str]]]:
    out = []
    for name, v in node.verdicts.items():
        passed = v.get("passed")
        state = "pass" if passed is True else "fail" if passed is False else "unknown"
        score = v.get("score")
        out.append(
            (
                name,
                {
                    "score": _num(score) if isinstance(score, int | float) else "?",
                    "state": state,
                    "feedback": str(v.get("feedback") or ""),
                },
            )
        )
    return out


def _summary(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= 100 else first[:99] + "…"


def _item(tree: ThoughtTree, node: Node, on_path: set[str]) -> dict[str, Any]:
    children = [_item(tree, c, on_path) for c in tree.children(node.id)]
    return {
        "id": node.id,
        "kind": node.kind,
        "status": node.status,
        "winner": node.id in on_path,
        "expanded": node.kind == "root" or node.id in on_path,
        "visits": node.visits,
        "value": _num(node.value),
        "prior": _num(node.prior),
        "verdicts": _verdicts(node),
        "summary": _summary(node.text),
        "text": node.text,
        "answer": node.answer,
        "step_scores": [{"raw": f"{s:.3f}", "text": _num(s)} for s in node.step_scores],
        "parse_error": node.parse_error,
        "feedback": node.feedback,
        "critique": node.critique,
        "meta": json.dumps(node.meta, indent=2, ensure_ascii=False) if node.meta else "",
        "children": children,
    }


def _result_fields(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    fields = []
    for key, value in result.items():
        if key == "solution":
            continue
        if isinstance(value, dict | list):
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        else:
            text = str(value)
        fields.append((key, {"text": text, "multiline": "\n" in text}))
    return fields


def render_tree_html(
    tree: ThoughtTree, title: str = "Ponder thought tree", result: dict[str, Any] | None = None
) -> str:
    """The HTML text of the view: collapsible tree, scores, feedback, the winning path."""
    on_path = {n.id for n in tree.winning_path()}
    items = [_item(tree, tree.root, on_path)] if tree.root_id is not None else []
    nodes = list(tree.nodes())
    stats = {
        "nodes": len(nodes),
        "thoughts": sum(n.kind == "thought" for n in nodes),
        "candidates": sum(n.kind == "candidate" for n in nodes),
        "passed": sum(n.status == "passed" for n in nodes),
        "depth": max((n.depth for n in nodes), default=0),
    }
    solution = (result or {}).get("solution")
    return (
        _env()
        .get_template("tree.html.j2")
        .render(
            title=title,
            items=items,
            stats=stats,
            winner=tree.winner,
            result=result,
            result_solution=None if solution is None else str(solution),
            result_fields=_result_fields(result or {}),
            css=jinja2.utils.markupsafe.Markup((_TEMPLATES / "tree.css").read_text()),
            js=jinja2.utils.markupsafe.Markup((_TEMPLATES / "tree.js").read_text()),
            version=__version__,
        )
    )


def write_tree_html(
    tree: ThoughtTree,
    out: str | Path,
    title: str = "Ponder thought tree",
    result: dict[str, Any] | None = None,
) -> Path:
    """Write the self-contained view to `out` and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_tree_html(tree, title, result), encoding="utf-8")
    return out


def write_run_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """The view of a run directory: RUN_DIR/tree.json (+ result.json) -> RUN_DIR/report.html.

    Without tree.json (a run killed mid-search) the tree is replayed from RUN_DIR/tree.jsonl.
    """
    from ponder.errors import ConfigError

    run_dir = Path(run_dir)
    tree_file, tree_log = run_dir / "tree.json", run_dir / "tree.jsonl"
    if tree_file.is_file():
        tree = ThoughtTree.load(tree_file)
    elif tree_log.is_file():  # a run that was killed before it wrote tree.json
        tree = ThoughtTree.replay(tree_log)
    else:
        raise ConfigError(
            f"{tree_file} does not exist", fix="pass a run directory written by `ponder solve`"
        )
    result = None
    result_file = run_dir / "result.json"
    if result_file.is_file():
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{result_file}: invalid JSON at line {exc.lineno}", fix="rewrite or delete it"
            ) from None
        if not isinstance(result, dict):
            raise ConfigError(f"{result_file} is not a JSON object", fix="rewrite or delete it")
    title = f"Ponder run {run_dir.resolve().name}"
    if result and result.get("task_id"):
        title += f" · {result['task_id']}"
    return write_tree_html(tree, out or run_dir / "report.html", title=title, result=result)
