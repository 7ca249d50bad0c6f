"""Localization: which files and functions to show the agent, from the failing traceback
first, then the code the failing tests call, the names in the problem statement (grep), the
imports of the likely files, and optionally the LLM's pick among the candidates."""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ponder.budget import Budget
from ponder.llm.base import SamplingParams
from ponder.llm.client import ModelClient
from ponder.repair.policy import is_test_path
from ponder.repair.sources import lines_of
from ponder.repair.tools import RepoTools
from ponder.task import VisibleTask

if TYPE_CHECKING:
    from ponder.kinds.base import Kind

_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_PYTEST_FRAME = re.compile(r"^([\w./\\-]+\.py):(\d+):(?: in (\S+))?", re.M)
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s", re.M)
_IMPORT = re.compile(r"^\s*import\s+([\w.]+)", re.M)
# Names too common to point at a file.
_COMMON = frozenset(
    {
        "self",
        "None",
        "True",
        "False",
        "return",
        "assert",
        "import",
        "from",
        "def",
        "class",
        "pass",
        "the",
        "and",
        "not",
        "for",
        "with",
        "print",
        "len",
        "list",
        "dict",
        "str",
        "int",
        "float",
        "set",
        "tuple",
        "range",
        "should",
        "expected",
        "returns",
    }
)


@dataclass
class FileHit:
    path: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)

    def add(
        self, score: float, reason: str, line: int | None = None, function: str | None = None
    ) -> None:
        self.score += score
        if reason not in self.reasons:
            self.reasons.append(reason)
        if line is not None and line not in self.lines:
            self.lines.append(line)
        if function and function not in self.functions:
            self.functions.append(function)


@dataclass
class Localization:
    hits: list[FileHit]

    def top(self, k: int = 3) -> list[FileHit]:
        return self.hits[:k]

    def paths(self, k: int = 3) -> list[str]:
        return [h.path for h in self.top(k)]

    def to_dict(self) -> list[dict]:
        return [asdict(h) for h in self.hits[:10]]

    @classmethod
    def from_dict(cls, hits: list[dict]) -> Localization:
        """The inverse of `to_dict` (a run keeps its localization on the root node)."""
        return cls([FileHit(**hit) for hit in hits])


def _repo_path(raw: str, files: list[str]) -> str | None:
    raw = raw.replace("\\", "/")
    if raw in files:
        return raw
    matches = [f for f in files if raw.endswith("/" + f)]
    return max(matches, key=len) if matches else None


def traceback_frames(output: str, files: list[str]) -> list[tuple[str, int, str | None]]:
    """(repo path, line, function) of each frame in repository files, outermost first."""
    frames = []
    for raw, line, func in _PY_FRAME.findall(output):
        path = _repo_path(raw, files)
        if path:
            frames.append((path, int(line), func))
    for raw, line, func in _PYTEST_FRAME.findall(output):
        path = _repo_path(raw, files)
        if path and (path, int(line), func or None) not in frames:
            frames.append((path, int(line), func or None))
    return frames


def definitions(text: str) -> dict[str, tuple[int, int]]:
    """Top-level and method names defined in `text` -> (first line, last line)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out[node.name] = (node.lineno, node.end_lineno or node.lineno)
    return out


def _test_body(tools: RepoTools, test_id: str) -> str:
    path, _, name = test_id.partition("::")
    text = tools.view.read(path) or ""
    first, last = definitions(text).get(name.split("::")[-1].split("[")[0], (1, 0))
    return "\n".join(lines_of(text, keepends=False)[first - 1 : last])


def localize(task: VisibleTask, tools: RepoTools, test_output: str = "") -> Localization:
    """Rank the repository's non-test files by how likely they hold the bug."""
    files = tools.list_files("*.py")
    sources = [f for f in files if not is_test_path(f)]
    texts = {f: tools.view.read(f) or "" for f in sources}
    defs = {f: definitions(texts[f]) for f in sources}
    hits: dict[str, FileHit] = {f: FileHit(f) for f in sources}
    defined: dict[str, list[tuple[str, int]]] = {}
    for f in sources:
        for name, (first, _) in defs[f].items():
            defined.setdefault(name, []).append((f, first))

    # 1. The traceback: frames in source files, the deepest weighing most, each credited to
    # the innermost definition around its line.
    frames = traceback_frames(test_output, files)
    for depth, (path, line, func) in enumerate(frames):
        if path in hits:
            around = [(a, name) for name, (a, b) in defs[path].items() if a <= line <= b]
            innermost = max(around, default=(0, func))[1]
            hits[path].add(8.0 + depth, "in the failing traceback", line, innermost)

    # 2. What the failing tests call (classes weigh less: constructors are rarely the bug).
    called: set[str] = set()
    repository = task.repository
    for test_id in repository.fail_to_pass if repository else []:
        called |= set(_IDENT.findall(_test_body(tools, test_id)))
    for path, _, func in frames:
        if is_test_path(path) and func:
            called |= set(_IDENT.findall(_test_body(tools, f"{path}::{func}")))
    for name in called - _COMMON:
        for path, line in defined.get(name, []):
            weight = 2.0 if name[:1].isupper() else 4.0
            hits[path].add(weight, f"defines {name}, called by a failing test", line, name)

    # 3. Names in the problem statement.
    spans = " ".join(_CODE_SPAN.findall(task.prompt))
    for name in set(_IDENT.findall(spans)) - _COMMON:
        for path, line in defined.get(name, []):
            hits[path].add(3.0, f"defines {name}, named in the problem", line, name)
    words = {w.lower() for w in _IDENT.findall(task.prompt)} - _COMMON
    for path in sources:
        found = sum(1 for w in words if w in texts[path].lower())
        if found:
            hits[path].add(min(2.0, 0.2 * found), "shares words with the problem")

    # 4. Two hops of the call graph from the functions found so far, then imports.
    _follow_calls(texts, defs, hits, defined)
    ranked = sorted(hits.values(), key=lambda h: -h.score)
    for hit in [h for h in ranked if h.score >= 4.0][:3]:
        text = texts[hit.path]
        for module in _FROM_IMPORT.findall(text) + _IMPORT.findall(text):
            target = module.replace(".", "/") + ".py"
            if target in hits and target != hit.path:
                hits[target].add(1.0, f"imported by {hit.path}")
    for path, hit in hits.items():
        if not defs[path] and not hit.lines:
            hit.score = min(hit.score, 0.1)  # e.g. an __init__.py that only re-exports
    ordered = sorted((h for h in hits.values() if h.score > 0), key=lambda h: (-h.score, h.path))
    return Localization(ordered or [FileHit(f) for f in sources[:5]])


def _follow_calls(
    texts: dict[str, str],
    defs: dict[str, dict[str, tuple[int, int]]],
    hits: dict[str, FileHit],
    defined: dict[str, list[tuple[str, int]]],
) -> None:
    """Functions called by the functions already found get 2.0 (one hop), then 1.0 (two)."""
    frontier = [(h.path, f) for h in hits.values() if h.score >= 3.0 for f in h.functions]
    seen = set(frontier)
    for weight in (2.0, 1.0):
        reached = []
        for path, func in frontier:
            span = defs[path].get(func)
            if not span:
                continue
            body = "\n".join(lines_of(texts[path], keepends=False)[span[0] : span[1]])
            for name in set(_IDENT.findall(body)) - _COMMON - {func}:
                for target, line in defined.get(name, []):
                    if (target, name) not in seen:
                        seen.add((target, name))
                        hits[target].add(weight, f"defines {name}, called by {func}", line, name)
                        reached.append((target, name))
        frontier = reached


async def llm_pick(
    kind: Kind,
    task: VisibleTask,
    tools: RepoTools,
    loc: Localization,
    client: ModelClient,
    budget: Budget | None = None,
    k: int = 5,
) -> str | None:
    """Ask the model which of the top-k files holds the bug (the `kind`'s "localize" prompt);
    boost it to the top."""
    candidates = loc.top(k)
    if len(candidates) < 2:
        return None
    outlines = [
        (h.path, sorted(definitions(tools.view.read(h.path) or ""))[:12]) for h in candidates
    ]
    messages = kind.render("localize", task=task, files=outlines)
    params = SamplingParams(n=1, max_tokens=24, temperature=0.0)
    reply = (await client.generate(messages, params, budget)).text
    chosen = next((h for h in candidates if h.path in reply), None)
    if chosen is None:
        chosen = next((h for h in candidates if h.path.rsplit("/", 1)[-1] in reply), None)
    if chosen is None:
        return None
    chosen.add(2.0, "picked by the model")
    loc.hits.sort(key=lambda h: (-h.score, h.path))
    return chosen.path
