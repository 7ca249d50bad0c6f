"""Hidden tests: test files turned into a test patch applied after the candidate's patch, and
the test ids they hold (as SWE-bench's `test_patch` and FAIL_TO_PASS do)."""

from __future__ import annotations

import ast
from pathlib import Path

from ponder.errors import TaskFormatError
from ponder.repair.patches import make_patch
from ponder.repair.sources import FileSource


def test_ids(rel: str, text: str) -> list[str]:
    """pytest node ids of the module-level `test_*` functions and `Test*` classes' methods."""
    try:
        tree = ast.parse(text, rel)
    except SyntaxError as exc:
        raise TaskFormatError(
            f"hidden test file {rel}: line {exc.lineno}: {exc.msg}", fix="fix the test file"
        ) from None
    ids = []
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            ids.append(f"{rel}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            ids += [
                f"{rel}::{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, functions) and item.name.startswith("test")
            ]
    return ids


def read_test_dir(directory: Path) -> dict[str, str]:
    """Every file under `directory`, by its path relative to it (= its repository path)."""
    return {
        p.relative_to(directory).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def hidden_tests(source: FileSource, files: dict[str, str]) -> tuple[str, list[str]]:
    """(test patch adding or replacing `files` in the repository, ids of the tests in them)."""
    patch = make_patch(source, dict(files))
    ids = [
        tid
        for rel, text in sorted(files.items())
        if rel.endswith(".py")
        for tid in test_ids(rel, text)
    ]
    return patch, ids
