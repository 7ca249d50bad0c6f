"""Whole-function edits: a fenced python block of `def`/`class` replaces its namesakes.

Small models rewrite a whole function far more reliably than they copy exact lines.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ponder.repair.sources import PATH_LINE, EditRejected, FileSource, resolve_path


@dataclass(frozen=True)
class DefinitionReplace:
    """Whole functions or classes (a fenced python block) that replace their namesakes.

    Small models rewrite a whole function far more reliably than they copy exact lines.
    """

    path: str | None
    code: str


_CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py|python3)?[^\n]*\n(.*?)(?:```|\Z)", re.S)


def parse_definition_blocks(text: str) -> list[DefinitionReplace]:
    """Fenced python blocks holding top-level `def`/`class` (path: the line before the fence,
    or a `# file: x.py` first line). Blocks without a definition are ignored; a block that is
    not valid Python is rejected with the parser's message."""
    edits = []
    for match in _CODE_BLOCK.finditer(text):
        code = _strip_numbers(match.group(1))
        if not re.search(r"^(?:async\s+def|def|class)\s", code, re.M):
            continue
        before = text[: match.start()].rstrip().splitlines()
        path = None
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        tag = re.match(r"#\s*(?:file(?:name)?\s*:\s*)?([\w./-]+\.py)\s*$", first)
        if tag:
            path = tag.group(1)
        elif before:
            found = PATH_LINE.match(before[-1]) or re.search(r"`([\w./-]+\.py)`", before[-1])
            path = found.group(1) if found else None
        try:
            ast.parse(code)
        except SyntaxError as exc:
            raise EditRejected(
                f"the python block is not valid Python (line {exc.lineno}: {exc.msg}); "
                "give whole functions with their indentation"
            ) from None
        edits.append(DefinitionReplace(path, code))
    return edits


def _strip_numbers(code: str) -> str:
    lines = [x for x in code.splitlines() if x.strip()]
    if lines and all(re.match(r"^\s*\d+\s?\|", x) for x in lines):
        code = "".join(re.sub(r"^\s*\d+\s?\| ?", "", x, count=1) + "\n" for x in code.splitlines())
    return code


def _defined(text: str) -> dict[str, list[ast.AST]]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    out: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.setdefault(node.name, []).append(node)
    return out


def _span(node: ast.AST) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", [])
    start = min([d.lineno for d in decorators] + [node.lineno])
    return start, node.end_lineno or node.lineno


def apply_definitions(
    edit: DefinitionReplace, current, source: FileSource, number: int
) -> dict[str, str]:
    block = ast.parse(edit.code)
    block_lines = edit.code.splitlines(keepends=True)
    out: dict[str, str] = {}
    defs = [
        n
        for n in block.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    imports = [n for n in block.body if isinstance(n, ast.Import | ast.ImportFrom)]
    pinned = resolve_path(source, edit.path) if edit.path else None
    if pinned is not None and current(pinned) is None:
        pinned = None  # a wrong path: fall back on finding the definition by name

    def holders(name: str) -> list[str]:
        return [
            f
            for f in source.files()
            if f.endswith(".py") and name in _defined(out.get(f) or current(f) or "")
        ]

    work: list[tuple[ast.AST, str | None]] = []
    for new in defs:
        methods = [
            n
            for n in getattr(new, "body", [])
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        home = [pinned] if pinned else holders(new.name)
        if isinstance(new, ast.ClassDef) and methods and len(home) == 1:
            # A class given again (often abbreviated): replace its methods one by one, keep the rest.
            work += [(m, home[0]) for m in methods]
        else:
            work.append((new, pinned))
    for new, pin in work:
        paths = [pin] if pin else holders(new.name)
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
        text = out.get(rel) or current(rel) or ""
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
        old = olds[0]
        if _is_stub(new) and not _is_stub(old):
            raise EditRejected(
                f"edit {number}: the new {new.name} has no real body (only ... or pass); "
                "write the whole corrected function"
            )
        first, last = _span(old)
        lines = text.splitlines(keepends=True)
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        a, b = _span(new)
        body = "".join(block_lines[a - 1 : b])
        if body and not body.endswith("\n"):
            body += "\n"
        body = _indent_block(body, indent)
        out[rel] = "".join(lines[: first - 1]) + body + "".join(lines[last:])
    if imports and out:
        rel = next(iter(out))
        out[rel] = _add_imports(
            out[rel], [ast.get_source_segment(edit.code, n) or "" for n in imports]
        )
    return out


def _is_stub(node: ast.AST) -> bool:
    body = [
        n
        for n in getattr(node, "body", [])
        if not (
            isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Constant)
            and isinstance(n.value.value, str)
        )
    ]
    return all(
        isinstance(n, ast.Pass)
        or (
            isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Constant)
            and n.value.value is Ellipsis
        )
        for n in body
    )


def _indent_block(body: str, indent: str) -> str:
    lines = body.splitlines(keepends=True)
    present = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return "".join((indent + x[present:]) if x.strip() else x for x in lines)


def _add_imports(text: str, imports: list[str]) -> str:
    missing = [imp for imp in imports if imp and imp not in text]
    if not missing:
        return text
    lines = text.splitlines(keepends=True)
    at = 0
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) or (
            isinstance(node, ast.Expr)
            and isinstance(getattr(node, "value", None), ast.Constant)
            and node is tree.body[0]
        ):
            at = node.end_lineno or at
    block = "".join(imp + "\n" for imp in missing)
    if at == 0:
        return block + "\n" + text
    return "".join(lines[:at]) + block + "".join(lines[at:])
