"""Whole-function edits: a fenced python block of `def`/`class` replaces its namesakes.

Small models rewrite a whole function far more reliably than they copy exact lines.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from ponder.repair.sources import PATH_LINE, EditRejected, FileSource, lines_of, resolve_path

_CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py|python3)?[^\n]*\n(.*?)(?:```|\Z)", re.S)
_NUMBER = re.compile(r"^\s*\d+\s?\| ?")
_DEF = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True)
class DefinitionReplace:
    """Whole functions or classes (a fenced python block) that replace their namesakes."""

    path: str | None
    code: str


def strip_line_numbers(text: str, *more: str) -> list[str]:
    """`text` and `more` without the `12 | ` prefixes copied from our numbered file view, when
    every non-blank line of `text` has one; else all of them as they are."""
    lines = [x for x in text.splitlines() if x.strip()]
    if not lines or not all(_NUMBER.match(x) for x in lines):
        return [text, *more]
    return [
        "".join(_NUMBER.sub("", x, count=1) + "\n" for x in t.splitlines()) for t in (text, *more)
    ]


def parse_definition_blocks(text: str) -> list[DefinitionReplace]:
    """Fenced python blocks holding top-level `def`/`class` (path: the line before the fence,
    or a `# file: x.py` first line). Blocks without a definition are ignored; a block that is
    not valid Python is rejected with the parser's message."""
    edits = []
    for match in _CODE_BLOCK.finditer(text):
        [code] = strip_line_numbers(match.group(1))
        if not re.search(r"^(?:async\s+def|def|class)\s", code, re.M):
            continue
        first = code.lstrip().partition("\n")[0]
        before = text[: match.start()].rstrip().rpartition("\n")[2]
        found = (
            (first.startswith("#") and PATH_LINE.match(first))
            or PATH_LINE.match(before)
            or re.search(r"`([\w./-]+\.py)`", before)
        )
        try:
            ast.parse(code)
        except SyntaxError as exc:
            raise EditRejected(
                f"the python block is not valid Python (line {exc.lineno}: {exc.msg}); "
                "give whole functions with their indentation"
            ) from None
        edits.append(DefinitionReplace(found.group(1) if found else None, code))
    return edits


def _defined(text: str) -> dict[str, list[ast.AST]]:
    """Every function and class in `text` (nested ones too), by name."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, _DEF):
            out.setdefault(node.name, []).append(node)
    return out


def _span(node: ast.AST) -> tuple[int, int]:
    """The 0-based line slice of a definition, its decorators included."""
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    return start - 1, node.end_lineno or node.lineno


def apply_definitions(
    edit: DefinitionReplace, current, source: FileSource, number: int
) -> dict[str, str]:
    """Replace each definition of the block in the file that defines it (`edit.path`, else the
    one file defining that name); a class given again replaces only the methods it gives."""
    block = ast.parse(edit.code)
    out: dict[str, str] = {}
    pinned = resolve_path(source, edit.path) if edit.path else None
    if pinned is not None and current(pinned) is None:
        pinned = None  # a wrong path: fall back on finding the definition by name

    def read(rel: str) -> str:
        return out.get(rel) or current(rel) or ""

    def holders(name: str) -> list[str]:
        return [f for f in source.files() if f.endswith(".py") and name in _defined(read(f))]

    for new in (n for n in block.body if isinstance(n, _DEF)):
        paths = [pinned] if pinned else holders(new.name)
        if not paths:
            raise EditRejected(
                f"edit {number}: no function or class named {new.name} in the repository; "
                "rewrite an existing function, or use SEARCH/REPLACE with the file path"
            )
        if len(paths) > 1:
            raise EditRejected(
                f"edit {number}: {new.name} is defined in {', '.join(paths[:4])}; "
                "put the file path on the line before the code block"
            )
        rel = paths[0]
        # A class given again (often abbreviated): replace its methods one by one, keep the rest.
        methods = [n for n in new.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for one in methods if isinstance(new, ast.ClassDef) and methods else [new]:
            out[rel] = _replace(read(rel), one, edit.code, rel, number)
    imports = [ast.unparse(n) for n in block.body if isinstance(n, ast.Import | ast.ImportFrom)]
    if imports and out:
        rel = next(iter(out))
        out[rel] = _add_imports(out[rel], imports)
    return out


def _replace(text: str, new: ast.AST, code: str, rel: str, number: int) -> str:
    """`text` with its one definition named like `new` replaced by `new`'s lines of `code`."""
    olds = _defined(text).get(new.name, [])
    if len(olds) > 1:
        olds = [o for o in olds if type(o) is type(new)] or olds
    if len(olds) != 1:
        raise EditRejected(
            f"edit {number}: {rel} defines {new.name} {len(olds)} times; "
            "use SEARCH/REPLACE for this change"
            if olds
            else f"edit {number}: {rel} has no {new.name}; give the file that defines it"
        )
    if _is_stub(new) and not _is_stub(olds[0]):
        raise EditRejected(
            f"edit {number}: the new {new.name} has no real body (only ... or pass); "
            "write the whole corrected function"
        )
    lines = lines_of(text)
    first, last = _span(olds[0])
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    a, b = _span(new)
    body = textwrap.dedent("".join(x + "\n" for x in lines_of(code, keepends=False)[a:b]))
    return "".join(lines[:first]) + textwrap.indent(body, indent) + "".join(lines[last:])


def _is_stub(node: ast.AST) -> bool:
    """Whether a definition's body is only a docstring and `...` or `pass`."""
    body = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
    return all(ast.unparse(n) in ("pass", "...") for n in body)


def _add_imports(text: str, imports: list[str]) -> str:
    """`text` with the `imports` it lacks added after its last top-level import (or its
    docstring)."""
    missing = [imp for imp in imports if imp not in text]
    if not missing:
        return text
    tree = ast.parse(text)
    ends = [n.end_lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    if ast.get_docstring(tree, clean=False) is not None:
        ends.append(tree.body[0].end_lineno)
    at = max(ends, default=0)
    lines = lines_of(text)
    added = "".join(imp + "\n" for imp in missing) + ("" if at else "\n")
    return "".join(lines[:at]) + added + "".join(lines[at:])
