"""Patches: a unified diff of changed files against the original (difflib), and applying one.

A node's state in the patch search is such a diff, so any node can be rebuilt from the
original repository plus its patch.

The parser and applier are our own, not a library's (whatthepatch, unidiff): diffs written by
models need leniency those lack. Hunk headers' line counts are ignored (a hunk runs to its last
diff line), each hunk is found by its text nearest its stated line, trailing whitespace is
forgiven, and empty context lines may lack their leading space.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ponder.repair.sources import EditRejected, FileSource, find_lines, lines_of, resolve_path


def make_patch(source: FileSource, changes: dict[str, str | None]) -> str:
    """A git-style unified diff of `changes` against `source` (empty when nothing changed)."""
    parts = []
    for rel in sorted(changes):
        old, new = source.read(rel), changes[rel]
        if old == new:
            continue
        body = difflib.unified_diff(
            _diff_lines(old),
            _diff_lines(new),
            fromfile=f"a/{rel}" if old is not None else "/dev/null",
            tofile=f"b/{rel}" if new is not None else "/dev/null",
        )
        text = "".join(body)
        if text:
            # git apply needs the mode line to create or delete a file under a git header.
            mode = "new file mode 100644\n" if old is None else ""
            mode = "deleted file mode 100644\n" if new is None else mode
            parts.append(f"diff --git a/{rel} b/{rel}\n{mode}{text}")
    return "".join(parts)


def _diff_lines(text: str | None) -> list[str]:
    lines = lines_of(text or "")
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


@dataclass
class _Hunk:
    old_start: int
    old: list[str]
    new: list[str]


@dataclass
class _FileDiff:
    old_path: str | None  # None: /dev/null, a new file
    new_path: str | None  # None: /dev/null, a deleted file
    hunks: list[_Hunk] = field(default_factory=list)


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


def parse_unified_diff(diff: str) -> list[_FileDiff]:
    """Files and hunks of a unified diff; raises EditRejected when it is malformed."""
    files: list[_FileDiff] = []
    lines = lines_of(diff)
    i = 0
    while i < len(lines):
        if _file_header(lines, i):
            files.append(_FileDiff(_diff_path(lines[i][4:]), _diff_path(lines[i + 1][4:])))
            i += 2
        elif match := _HUNK.match(lines[i]):
            if not files:
                raise EditRejected("diff hunk before any '--- a/file' / '+++ b/file' header")
            hunk, i = _read_hunk(lines, i + 1, int(match.group(1)))
            files[-1].hunks.append(hunk)
        else:
            i += 1
    if not any(f.hunks for f in files):
        raise EditRejected(
            "the diff has no '@@ ... @@' hunks; write a unified diff or SEARCH/REPLACE"
        )
    return files


def _file_header(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _read_hunk(lines: list[str], i: int, old_start: int) -> tuple[_Hunk, int]:
    """The hunk whose lines start at `i`, and the index of the line after it."""
    body: list[tuple[str, str]] = []  # (" ", "-", "+", or "" for an empty line: context, text)
    while i < len(lines) and not lines[i].startswith(("@@", "diff ")):
        line = lines[i]
        if _file_header(lines, i):
            break
        if line.startswith("\\"):  # "\ No newline at end of file": the line before has none
            if body:
                body[-1] = (body[-1][0], body[-1][1].removesuffix("\n"))
        elif line[0] in " +-":
            body.append((line[0], line[1:] if line.endswith("\n") else line[1:] + "\n"))
        elif line in ("\n", "\r\n"):  # context whose space an editor stripped
            body.append(("", line))
        else:
            break
        i += 1
    while body and body[-1][0] == "":  # empty lines after the hunk, not context
        body.pop()
    old = [text for tag, text in body if tag != "+"]
    new = [text for tag, text in body if tag != "-"]
    return _Hunk(old_start, old, new), i


def _diff_path(raw: str) -> str | None:
    name = raw.strip().split("\t")[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name


def apply_patch(source: FileSource, patch: str) -> dict[str, str | None]:
    """The changed files after applying a unified diff (as made by `make_patch`) to `source`."""
    if not patch.strip():
        return {}
    return apply_diff_text(patch, source.read, source)


def apply_diff_text(diff: str, read, source: FileSource) -> dict[str, str | None]:
    """The files `diff` changes (None: deleted), each read first through `read(rel)`."""
    changes: dict[str, str | None] = {}
    for fd in parse_unified_diff(diff):
        if fd.new_path is None:
            changes[resolve_path(source, fd.old_path or "")] = None
            continue
        rel = resolve_path(source, fd.new_path)
        text = changes.get(rel, read(rel)) if fd.old_path is not None else ""
        if text is None:
            raise EditRejected(f"diff edits {fd.new_path}, but no such file exists")
        lines = lines_of(text)
        for number, hunk in enumerate(fd.hunks, 1):
            lines = _apply_hunk(lines, hunk, rel, number)
        changes[rel] = "".join(lines)
    return changes


def _apply_hunk(lines: list[str], hunk: _Hunk, rel: str, number: int) -> list[str]:
    """`lines` with the hunk's old lines replaced where they occur nearest its stated line,
    compared exactly, else ignoring trailing whitespace."""
    if not hunk.old:
        at = min(max(hunk.old_start, 0), len(lines))
        return lines[:at] + hunk.new + lines[at:]
    for key in (str, str.rstrip):
        if hits := find_lines(lines, hunk.old, key):
            at = min(hits, key=lambda h: abs(h - (hunk.old_start - 1)))
            return lines[:at] + hunk.new + lines[at + len(hunk.old) :]
    first = hunk.old[0].rstrip("\n")
    raise EditRejected(
        f"diff hunk {number} for {rel} does not match the file: its lines starting with "
        f"{first!r} are not in the file (context and '-' lines must copy the file exactly)"
    )
