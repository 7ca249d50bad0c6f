"""Edits to a repository copy: search/replace blocks, unified diffs and whole functions.

An edit that does not apply raises `EditRejected` whose `reason` is fed back to the agent.
`make_patch` / `apply_patch` (in `patches`) turn the result into a node's state and back.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ponder.repair.definitions import DefinitionReplace, apply_definitions, parse_definition_blocks
from ponder.repair.patches import apply_diff_text, apply_patch, make_patch
from ponder.repair.sources import PATH_LINE, EditRejected, FileSource, resolve_path

__all__ = [
    "DefinitionReplace",
    "DiffEdit",
    "Edit",
    "EditRejected",
    "FileSource",
    "SearchReplace",
    "apply_edits",
    "apply_patch",
    "make_patch",
    "parse_edits",
    "parse_search_replace",
    "replace_once",
    "resolve_path",
]


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


Edit = SearchReplace | DiffEdit | DefinitionReplace

# ----------------------------------------------------------------------------- parsing

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"^\s*```")


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
            match = PATH_LINE.match(line)
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


# ----------------------------------------------------------------------------- applying


def apply_edits(source: FileSource, edits: list[Edit]) -> dict[str, str | None]:
    """Apply edits in order on top of `source`; returns the new text of each changed file."""
    changes: dict[str, str | None] = {}

    def current(rel: str) -> str | None:
        return changes[rel] if rel in changes else source.read(rel)

    for number, edit in enumerate(edits, 1):
        if isinstance(edit, DiffEdit):
            changes.update(apply_diff_text(edit.diff, current, source))
            continue
        if isinstance(edit, DefinitionReplace):
            changes.update(apply_definitions(edit, current, source, number))
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
