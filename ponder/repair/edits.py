"""Edits to a repository copy: search/replace blocks and unified diffs, and patches of the result.

A node's state in the patch search is a unified diff against the original repository
(`make_patch`), so any node can be rebuilt from the original plus its patch (`apply_patch`).
An edit that does not apply raises `EditRejected` whose `reason` is fed back to the agent.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from typing import Protocol

from ponder.errors import PonderError
from ponder.repair.workspace import normalize_path

NO_NEWLINE = "\\ No newline at end of file"


class FileSource(Protocol):
    """Anything that reads repository files by relative path (RepoSnapshot, PatchedView)."""

    def read(self, rel: str) -> str | None: ...

    def files(self) -> list[str]: ...


class EditRejected(PonderError):
    """An edit could not be parsed or applied; `reason` is written for the agent to read."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason, fix="rewrite the edit so that it matches the file exactly")


@dataclass(frozen=True)
class SearchReplace:
    """Replace the text `search` in `path` by `replace` (empty search + new file = create)."""

    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class DiffEdit:
    """A unified diff written by the agent."""

    diff: str


@dataclass(frozen=True)
class DefinitionReplace:
    """Whole functions or classes (a fenced python block) that replace their namesakes.

    Small models rewrite a whole function far more reliably than they copy exact lines.
    """

    path: str | None
    code: str


Edit = SearchReplace | DiffEdit | DefinitionReplace

# ----------------------------------------------------------------------------- parsing

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"^\s*```")
_PATH_LINE = re.compile(
    r"^\s*(?:#+\s*)?(?:file(?:name)?\s*[:=]\s*)?`?([\w./\\-]+\.[\w]+)`?\s*:?\s*$", re.I
)


def parse_edits(text: str) -> list[Edit]:
    """Every edit in a model reply: search/replace blocks, else a unified diff.

    Raises EditRejected naming what is malformed when the reply holds no usable edit.
    """
    if _has_marker(text, _SEARCH) or _has_marker(text, _REPLACE):
        return list(parse_search_replace(text))
    diff = extract_diff(text)
    if diff:
        return [DiffEdit(diff)]
    definitions = parse_definition_blocks(text)
    if definitions:
        return list(definitions)
    raise EditRejected(
        "no edit found: give the fixed function in full in a ```python block, or write "
        "path/to/file.py then <<<<<<< SEARCH / ======= / >>>>>>> REPLACE blocks"
    )


def _has_marker(text: str, pattern: re.Pattern[str]) -> bool:
    return any(pattern.match(line) for line in text.splitlines())


def parse_search_replace(text: str) -> list[SearchReplace]:
    """Aider-style blocks: a file path line, then SEARCH / ======= / REPLACE markers."""
    lines = text.splitlines()
    edits: list[SearchReplace] = []
    path: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SEARCH.match(line):
            search, i = _collect(lines, i + 1, _DIVIDER, "=======", len(edits) + 1)
            replace, i = _collect(lines, i + 1, _REPLACE, ">>>>>>> REPLACE", len(edits) + 1)
            edits.append(SearchReplace(path or "", search, replace))  # "": found by content
        elif _DIVIDER.match(line) or _REPLACE.match(line):
            raise EditRejected(
                f"found {line.strip()!r} without a matching <<<<<<< SEARCH line before it"
            )
        else:
            match = _PATH_LINE.match(line)
            if match and not _FENCE.match(line):
                path = match.group(1)
        i += 1
    if not edits:
        raise EditRejected("no complete <<<<<<< SEARCH / ======= / >>>>>>> REPLACE block found")
    return edits


def _collect(
    lines: list[str], start: int, end: re.Pattern[str], end_name: str, block: int
) -> tuple[str, int]:
    out = []
    for j in range(start, len(lines)):
        if end.match(lines[j]):
            return "".join(f"{x}\n" for x in out), j
        if _SEARCH.match(lines[j]):
            break
        out.append(lines[j])
    raise EditRejected(f"edit block {block} is missing its {end_name!r} line")


def extract_diff(text: str) -> str | None:
    """The unified diff inside a reply (fenced or bare), or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            start = i - 1 if i > 0 and lines[i - 1].startswith("diff ") else i
            body = []
            for rest in lines[start:]:
                if _FENCE.match(rest):
                    break
                body.append(rest)
            return "\n".join(body) + "\n"
    return None


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
            found = _PATH_LINE.match(before[-1]) or re.search(r"`([\w./-]+\.py)`", before[-1])
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


# ----------------------------------------------------------------------------- applying


def resolve_path(source: FileSource, path: str) -> str:
    """The repository path an agent meant: exact, else a unique suffix match."""
    try:
        rel = normalize_path(path)
    except ValueError as exc:
        raise EditRejected(f"{exc}; use a path relative to the repository root") from None
    files = source.files()
    if rel in files:
        return rel
    suffix = [f for f in files if f.endswith("/" + rel) or rel.endswith("/" + f)]
    if len(suffix) == 1:
        return suffix[0]
    if len(suffix) > 1:
        raise EditRejected(f"file path {path!r} is ambiguous: it could be {', '.join(suffix[:5])}")
    return rel


def apply_edits(source: FileSource, edits: list[Edit]) -> dict[str, str | None]:
    """Apply edits in order on top of `source`; returns the new text of each changed file."""
    changes: dict[str, str | None] = {}

    def current(rel: str) -> str | None:
        return changes[rel] if rel in changes else source.read(rel)

    for number, edit in enumerate(edits, 1):
        if isinstance(edit, DiffEdit):
            changes.update(_apply_diff_text(edit.diff, current, source))
            continue
        if isinstance(edit, DefinitionReplace):
            changes.update(_apply_definitions(edit, current, source, number))
            continue
        rel = (
            resolve_path(source, edit.path)
            if edit.path
            else _file_holding(source, edit, current, number)
        )
        text = current(rel)
        if text is None:
            if edit.search.strip():
                raise EditRejected(
                    f"edit {number}: file not found: {edit.path}. "
                    f"Files: {', '.join(source.files()[:20])}"
                )
            changes[rel] = edit.replace
            continue
        changes[rel] = replace_once(text, edit.search, edit.replace, rel, number)
    return changes


def _file_holding(source: FileSource, edit: SearchReplace, current, number: int) -> str:
    """The one file whose text holds the SEARCH part, for a block written without a path."""
    search, _ = _strip_line_numbers(edit.search, edit.replace)
    if not search.strip():
        raise EditRejected(f"edit {number} has no file path and an empty SEARCH part")
    holders = [f for f in source.files() if search in (current(f) or "")]
    if len(holders) == 1:
        return holders[0]
    where = f"it is in {', '.join(holders[:4])}" if holders else "no file holds the SEARCH text"
    raise EditRejected(
        f"edit {number} has no file path and {where}: put the file's path on the line "
        "just before <<<<<<< SEARCH"
    )


def replace_once(text: str, search: str, replace: str, rel: str, number: int = 1) -> str:
    """Replace exactly one occurrence of `search`; tolerant of line numbers and indentation."""
    if not search.strip():
        raise EditRejected(
            f"edit {number}: the SEARCH part for {rel} is empty; copy the lines to change "
            "from the file into SEARCH"
        )
    search, replace = _strip_line_numbers(search, replace)
    count = text.count(search)
    if count == 1:
        return text.replace(search, replace, 1)
    if count > 1:
        raise EditRejected(
            f"edit {number}: the SEARCH text matches {count} places in {rel}; "
            "add more surrounding lines so it matches only one"
        )
    return _replace_lines_loosely(text, search, replace, rel, number)


_NUMBERED = re.compile(r"^\s*\d+\s?(?:[|:]\s?|\s)")


def _strip_line_numbers(search: str, replace: str) -> tuple[str, str]:
    """Drop `12 | ` prefixes copied from our numbered file view, when every SEARCH line has one."""
    lines = [x for x in search.splitlines() if x.strip()]
    if lines and all(_NUMBERED.match(x) for x in lines) and any("|" in x for x in lines):
        strip = re.compile(r"^\s*\d+\s?\|\s?")
        search = "".join(strip.sub("", x, count=1) + "\n" for x in search.splitlines())
        replace = "".join(strip.sub("", x, count=1) + "\n" for x in replace.splitlines())
    return search, replace


def _replace_lines_loosely(text: str, search: str, replace: str, rel: str, number: int) -> str:
    """Match line by line ignoring trailing spaces, then ignoring indentation (and re-indent)."""
    lines = text.splitlines(keepends=True)
    want = [x for x in search.splitlines()]
    while want and not want[-1].strip():
        want.pop()
    while want and not want[0].strip():
        want.pop(0)
    for key in (str.rstrip, str.strip):
        keyed = [key(x) for x in want]
        hits = [
            i
            for i in range(len(lines) - len(want) + 1)
            if [key(x) for x in lines[i : i + len(want)]] == keyed
        ]
        if len(hits) > 1:
            raise EditRejected(
                f"edit {number}: the SEARCH text matches {len(hits)} places in {rel}; "
                "add more surrounding lines so it matches only one"
            )
        if hits:
            i = hits[0]
            new = _reindent(replace, want[0], lines[i])
            if new and lines[i + len(want) - 1].endswith("\n") and not new.endswith("\n"):
                new += "\n"
            return "".join(lines[:i]) + new + "".join(lines[i + len(want) :])
    return _not_found(text, want, rel, number)


def _reindent(replace: str, search_first: str, file_first: str) -> str:
    have = len(file_first) - len(file_first.lstrip())
    had = len(search_first) - len(search_first.lstrip())
    if have == had:
        return replace
    out = []
    for line in replace.splitlines(keepends=True):
        if have > had:
            out.append(" " * (have - had) + line if line.strip() else line)
        else:
            cut = min(had - have, len(line) - len(line.lstrip(" ")))
            out.append(line[cut:])
    return "".join(out)


def _not_found(text: str, want: list[str], rel: str, number: int) -> str:
    lines = text.splitlines()
    first = want[0].strip() if want else ""
    near = [i for i, x in enumerate(lines) if first and x.strip() == first]
    hint = ""
    if near:
        i = near[0]
        shown = "\n".join(lines[i : i + max(3, len(want))])
        hint = f" The file has, at line {i + 1}:\n{shown}"
    else:
        close = difflib.get_close_matches(first, [x.strip() for x in lines], n=1, cutoff=0.6)
        if close:
            hint = f" Did you mean the line: {close[0]!r}?"
    raise EditRejected(
        f"edit {number}: search text not found in {rel}; SEARCH must copy the file's "
        f"lines exactly.{hint}"
    )


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


def _apply_definitions(
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
    for new in defs:
        paths = (
            [pinned]
            if pinned
            else [
                f
                for f in source.files()
                if f.endswith(".py") and new.name in _defined(out.get(f) or current(f) or "")
            ]
        )
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


# ----------------------------------------------------------------------------- patches


def make_patch(source: FileSource, changes: dict[str, str | None]) -> str:
    """A git-style unified diff of `changes` against `source` (empty when nothing changed)."""
    parts = []
    for rel in sorted(changes):
        old = source.read(rel)
        new = changes[rel]
        if old == new:
            continue
        a = f"a/{rel}" if old is not None else "/dev/null"
        b = f"b/{rel}" if new is not None else "/dev/null"
        body = difflib.unified_diff(
            _diff_lines(old or ""), _diff_lines(new or ""), fromfile=a, tofile=b, n=3
        )
        text = "".join(body)
        if text:
            parts.append(f"diff --git a/{rel} b/{rel}\n" + text)
    return "".join(parts)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += f"\n{NO_NEWLINE}\n"
    return lines


@dataclass
class _Hunk:
    old_start: int
    old: list[str]
    new: list[str]


@dataclass
class _FileDiff:
    old_path: str | None
    new_path: str | None
    hunks: list[_Hunk]


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_unified_diff(diff: str) -> list[_FileDiff]:
    """Files and hunks of a unified diff; raises EditRejected when it is malformed."""
    files: list[_FileDiff] = []
    lines = diff.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            current = _FileDiff(_diff_path(line[4:]), _diff_path(lines[i + 1][4:]), [])
            files.append(current)
            i += 2
            continue
        match = _HUNK.match(line)
        if match:
            if not files:
                raise EditRejected("diff hunk before any '--- a/file' / '+++ b/file' header")
            hunk, i = _read_hunk(lines, i + 1, int(match.group(1)))
            files[-1].hunks.append(hunk)
            continue
        i += 1
    if not files or not any(f.hunks for f in files):
        raise EditRejected(
            "the diff has no '@@ ... @@' hunks; write a unified diff or SEARCH/REPLACE"
        )
    return files


def _read_hunk(lines: list[str], i: int, old_start: int) -> tuple[_Hunk, int]:
    old: list[str] = []
    new: list[str] = []
    prev = " "
    bare_tail = 0  # empty lines without the context space, at the hunk's end: not context
    while i < len(lines):
        line = lines[i]
        if line.startswith(("@@", "diff ")) or (
            line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
        ):
            break
        if line.startswith("\\"):  # "\ No newline at end of file": the line before has none
            sides = {" ": (old, new), "-": (old,), "+": (new,)}[prev]
            for side in sides:
                if side and side[-1].endswith("\n"):
                    side[-1] = side[-1][:-1]
            i += 1
            continue
        body = line[1:] if line[:1] in " +-" else line
        if not body.endswith("\n"):
            body += "\n"
        if line.startswith("-"):
            old.append(body)
        elif line.startswith("+"):
            new.append(body)
        elif line.startswith(" ") or line in ("\n", "\r\n"):
            old.append(body)
            new.append(body)
        else:
            break
        prev = line[:1] if line[:1] in " +-" else " "
        bare_tail = bare_tail + 1 if line in ("\n", "\r\n") else 0
        i += 1
    if bare_tail:
        old, new = old[:-bare_tail], new[:-bare_tail]
    return _Hunk(old_start, old, new), i


def _diff_path(raw: str) -> str | None:
    name = raw.strip().split("\t")[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith(("a/", "b/")):
        name = name[2:]
    return name


def apply_patch(source: FileSource, patch: str) -> dict[str, str | None]:
    """The changed files after applying a unified diff (as made by `make_patch`) to `source`."""
    if not patch.strip():
        return {}
    return _apply_diff_text(patch, source.read, source)


def _apply_diff_text(diff: str, read, source: FileSource) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for fd in parse_unified_diff(diff):
        if fd.new_path is None:
            rel = resolve_path(source, fd.old_path or "")
            changes[rel] = None
            continue
        rel = resolve_path(source, fd.new_path)
        text = changes.get(rel, read(rel)) if fd.old_path is not None else ""
        if text is None:
            raise EditRejected(f"diff edits {fd.new_path}, but no such file exists")
        lines = text.splitlines(keepends=True)
        for number, hunk in enumerate(fd.hunks, 1):
            lines = _apply_hunk(lines, hunk, rel, number)
        changes[rel] = "".join(lines)
    return changes


def _apply_hunk(lines: list[str], hunk: _Hunk, rel: str, number: int) -> list[str]:
    if not hunk.old:
        at = min(max(hunk.old_start, 0), len(lines))
        return lines[:at] + hunk.new + lines[at:]
    target = hunk.old_start - 1
    for key in (lambda x: x, str.rstrip):
        want = [key(x) for x in hunk.old]
        hits = [
            i
            for i in range(len(lines) - len(want) + 1)
            if [key(x) for x in lines[i : i + len(want)]] == want
        ]
        if hits:
            i = min(hits, key=lambda h: abs(h - target))
            return lines[:i] + hunk.new + lines[i + len(want) :]
    first = hunk.old[0].rstrip("\n")
    raise EditRejected(
        f"diff hunk {number} for {rel} does not match the file: its lines starting with "
        f"{first!r} are not in the file (context and '-' lines must copy the file exactly)"
    )
