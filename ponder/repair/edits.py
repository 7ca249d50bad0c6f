"""Edits to a repository copy: search/replace blocks, unified diffs and whole functions.

An edit that does not apply raises `EditRejected` whose `reason` is fed back to the agent.
`make_patch` / `apply_patch` (in `patches`) turn the result into a node's state and back.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from dataclasses import dataclass

from ponder.repair.definitions import (
    DefinitionReplace,
    apply_definitions,
    parse_definition_blocks,
    strip_line_numbers,
)
from ponder.repair.patches import apply_diff_text
from ponder.repair.patches import apply_patch as apply_patch  # re-exported, as is make_patch
from ponder.repair.patches import make_patch as make_patch
from ponder.repair.sources import PATH_LINE, EditRejected, FileSource, find_lines, resolve_path


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

# The SEARCH, divider and REPLACE lines of a block, and how an error message names them.
_MARKERS = [
    re.compile(rf"^\s*{m}\s*$") for m in (r"<{5,9}\s*SEARCH", "={5,9}", r">{5,9}\s*REPLACE")
]
_MARKER_NAMES = ("<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE")


def parse_edits(text: str) -> list[Edit]:
    """Every edit in a model reply: search/replace blocks, else a unified diff, else whole
    functions in python blocks.

    Raises EditRejected naming what is malformed when the reply holds no usable edit.
    """
    if any(_MARKERS[0].match(x) or _MARKERS[2].match(x) for x in text.splitlines()):
        return list(parse_search_replace(text))
    edits = [DiffEdit(diff)] if (diff := extract_diff(text)) else parse_definition_blocks(text)
    if edits:
        return list(edits)
    raise EditRejected(
        "no edit found: give the fixed function in full in a ```python block, or write "
        "path/to/file.py then <<<<<<< SEARCH / ======= / >>>>>>> REPLACE blocks"
    )


def parse_search_replace(text: str) -> list[SearchReplace]:
    """Aider-style blocks: a file path line, then SEARCH / ======= / REPLACE markers."""
    edits: list[SearchReplace] = []
    path = ""  # "": no path line yet, the file is found by content
    parts: list[list[str]] = []  # the open block's SEARCH lines, then its REPLACE lines
    for line in text.splitlines():
        kind = next((k for k, marker in enumerate(_MARKERS) if marker.match(line)), None)
        if parts and kind == len(parts):  # the open block's next marker
            if kind == 1:
                parts.append([])
            else:
                texts = ("".join(f"{x}\n" for x in part) for part in parts)
                edits.append(SearchReplace(path, *strip_line_numbers(*texts)))
                parts = []
        elif parts and kind == 0:
            break  # a new block before this one ended: reported below
        elif parts:
            parts[-1].append(line)
        elif kind == 0:
            parts = [[]]
        elif kind:
            raise EditRejected(
                f"found {line.strip()!r} without a matching <<<<<<< SEARCH line before it"
            )
        elif match := PATH_LINE.match(line):
            path = match.group(1)
    if parts:
        raise EditRejected(
            f"edit block {len(edits) + 1} is missing its {_MARKER_NAMES[len(parts)]!r} line"
        )
    if not edits:
        raise EditRejected("no complete <<<<<<< SEARCH / ======= / >>>>>>> REPLACE block found")
    return edits


def extract_diff(text: str) -> str | None:
    """The unified diff inside a reply (fenced or bare, from its `diff`/`---` line), or None."""
    start = re.search(r"^(?:diff .*\n)?--- .*\n\+\+\+ ", text, re.M)
    if start is None:
        return None
    diff = re.split(r"^[ \t]*```", text[start.start() :], maxsplit=1, flags=re.M)[0]
    return diff if diff.endswith("\n") else diff + "\n"


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
    if not edit.search.strip():
        raise EditRejected(f"edit {number} has no file path and an empty SEARCH part")
    holders = [f for f in source.files() if edit.search in (current(f) or "")]
    if len(holders) == 1:
        return holders[0]
    where = f"it is in {', '.join(holders[:4])}" if holders else "no file holds the SEARCH text"
    raise EditRejected(
        f"edit {number} has no file path and {where}: put the file's path on the line "
        "just before <<<<<<< SEARCH"
    )


def replace_once(text: str, search: str, replace: str, rel: str, number: int = 1) -> str:
    """Replace exactly one occurrence of `search`; else match its lines ignoring trailing
    spaces, then ignoring indentation (re-indenting `replace`)."""
    if not search.strip():
        raise EditRejected(
            f"edit {number}: the SEARCH part for {rel} is empty; copy the lines to change "
            "from the file into SEARCH"
        )
    count = text.count(search)
    if count == 1:
        return text.replace(search, replace, 1)
    if count > 1:
        raise _ambiguous(number, count, rel)
    lines = text.splitlines(keepends=True)
    want = search.rstrip().splitlines()
    want = want[next(i for i, x in enumerate(want) if x.strip()) :]  # no blank first lines
    for key in (str.rstrip, str.strip):
        hits = find_lines(lines, want, key)
        if len(hits) > 1:
            raise _ambiguous(number, len(hits), rel)
        if hits:
            i, end = hits[0], hits[0] + len(want)
            new = _shift(replace, _indent(lines[i]) - _indent(want[0]))
            if new and lines[end - 1].endswith("\n") and not new.endswith("\n"):
                new += "\n"
            return "".join(lines[:i]) + new + "".join(lines[end:])
    raise EditRejected(
        f"edit {number}: search text not found in {rel}; SEARCH must copy the file's "
        f"lines exactly.{_nearest(text, want)}"
    )


def _ambiguous(number: int, count: int, rel: str) -> EditRejected:
    return EditRejected(
        f"edit {number}: the SEARCH text matches {count} places in {rel}; "
        "add more surrounding lines so it matches only one"
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _shift(text: str, by: int) -> str:
    """`text` with `by` more (or, when negative, fewer) spaces of indentation on each line."""
    if by >= 0:
        return textwrap.indent(text, " " * by)
    return "".join(x[min(-by, _indent(x)) :] for x in text.splitlines(keepends=True))


def _nearest(text: str, want: list[str]) -> str:
    """The file's lines from the one nearest SEARCH's first line, for the rejection reason."""
    lines = text.splitlines()
    stripped = [x.strip() for x in lines]
    close = difflib.get_close_matches(want[0].strip(), stripped, n=1, cutoff=0.6)
    if not close:
        return ""
    i = stripped.index(close[0])
    return f" The file has, at line {i + 1}:\n" + "\n".join(lines[i : i + max(3, len(want))])
