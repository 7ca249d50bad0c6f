"""Patches: a unified diff of changed files against the original (difflib), and applying one.

A node's state in the patch search is such a diff, so any node can be rebuilt from the
original repository plus its patch.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ponder.repair.sources import EditRejected, FileSource, resolve_path

NO_NEWLINE = "\\ No newline at end of file"


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
            # git apply needs the mode line to create or delete a file under a git header.
            mode = "new file mode 100644\n" if old is None else ""
            mode = "deleted file mode 100644\n" if new is None else mode
            parts.append(f"diff --git a/{rel} b/{rel}\n{mode}" + text)
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
    return apply_diff_text(patch, source.read, source)


def apply_diff_text(diff: str, read, source: FileSource) -> dict[str, str | None]:
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
