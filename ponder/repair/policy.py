"""What a candidate patch may change: source files only, never tests or test configuration.

A patch is refused (`PatchRefused`, whose `reason` is fed back to the agent) when it touches a
test file, a conftest, pytest/tox configuration, a file that would shadow pytest or run at
interpreter start, a path outside the repository or through a symlink, or when its added lines
reach into the test runner (pytest internals, ctypes, gc object walks, /proc).
"""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ponder.repair.patches import apply_patch
from ponder.repair.sources import EditRejected, FileSource
from ponder.repair.workspace import normalize_path

TEST_DIRS = frozenset({"tests", "testing"})
CONFIG_FILES = frozenset({"pytest.ini", ".pytest.ini", "tox.ini", "noxfile.py", ".coveragerc"})
# Files that run before or instead of the test runner: site hooks and modules shadowing pytest.
STARTUP_FILES = frozenset({"sitecustomize.py", "usercustomize.py", "pytest.py", "py.py"})
SHADOWED_PACKAGES = frozenset({"_pytest", "pytest", "pluggy", "py", "iniconfig"})

# Extended git headers that `git apply` honours and our text diffs never need.
_GIT_HEADERS = re.compile(
    r"^(rename from|rename to|copy from|copy to|new file mode|deleted file mode|old mode|"
    r"new mode|GIT binary patch|Binary files)\b(.*)$",
    re.M,
)
_PLAIN_MODE = {"100644", "100755"}

# Added source lines that reach into the test runner or the grader (narrow on purpose).
_RUNNER_CODE = re.compile(
    r"(\b_pytest\b|\bpluggy\b|^\s*(?:import|from)\s+pytest\b|__import__\(\s*['\"]_?pytest|"
    r"import_module\(\s*['\"]_?pytest|\bctypes\b|\bgc\.get_(?:objects|referrers|referents)\b|"
    r"\bsys\._current_frames\b|\bsys\.set(?:trace|profile)\b|/proc/|\bjunit|PONDER_JUDGE|"
    r"ponder_judge|\bos\._exit\b|\bfaulthandler\b)"
)


class PatchRefused(EditRejected):
    """The patch changes what it may not (tests, test configuration, paths outside)."""


def is_test_path(rel: str) -> bool:
    """A test file or test support file by the usual layouts (tests/, test_*.py, conftest.py)."""
    path = PurePosixPath(rel)
    name = path.name
    if name == "conftest.py" or name == "tests.py":
        return True
    if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
        return True
    return any(part in TEST_DIRS for part in path.parts[:-1])


def is_startup_path(rel: str) -> bool:
    path = PurePosixPath(rel)
    if path.name in STARTUP_FILES or path.suffix == ".pth":
        return True
    return any(part in SHADOWED_PACKAGES for part in path.parts[:-1][:1])


@dataclass(frozen=True)
class PatchPolicy:
    """Which files a candidate patch may change, for one repository.

    `protected`: further paths the task names (its test files, the hidden test patch's files).
    `check_code`: refuse added lines that reach into the test runner (off for a repository
    that *is* the test runner, e.g. pytest itself).
    """

    protected: frozenset[str] = field(default_factory=frozenset)
    check_code: bool = True

    @classmethod
    def for_repo(cls, source: FileSource, protected: set[str] | None = None) -> PatchPolicy:
        files = set(source.files())
        is_pytest = bool({"src/_pytest/__init__.py", "_pytest/__init__.py"} & files)
        return cls(frozenset(protected or ()), check_code=not is_pytest)

    def check(self, source: FileSource, patch: str, root: Path | None = None) -> dict:
        """The patch's changes, or PatchRefused naming the first thing it may not do."""
        if not patch.strip():
            return {}
        for match in _GIT_HEADERS.finditer(patch):
            header, rest = match.group(1), match.group(2).strip()
            if header.endswith("mode") and rest in _PLAIN_MODE:
                continue
            raise PatchRefused(
                f"the patch has a '{header} {rest}' header: renames, copies, symlinks, binary "
                "files and mode changes are not allowed; edit file contents only"
            )
        changes = apply_patch(source, patch)
        self.check_changes(source, changes, root)
        return changes

    def check_changes(
        self, source: FileSource, changes: dict[str, str | None], root: Path | None = None
    ) -> None:
        """PatchRefused unless every changed file (new text, None = deleted) may change."""
        for rel in sorted(changes):
            self.check_path(rel, root)
            old, new = source.read(rel), changes[rel]
            if rel.endswith((".cfg", ".toml")) and _pytest_section(rel, old) != _pytest_section(
                rel, new
            ):
                raise PatchRefused(
                    f"the patch changes the pytest configuration in {rel}; test configuration "
                    "is not the patch's to change: fix the code under test"
                )
            if self.check_code and rel.endswith(".py") and new is not None:
                self.check_added_code(rel, old or "", new)

    def check_path(self, rel: str, root: Path | None = None) -> None:
        try:
            clean = normalize_path(rel)
        except ValueError as exc:
            raise PatchRefused(
                f"{exc}; a patch may only change files inside the repository"
            ) from None
        if clean != rel:
            raise PatchRefused(f"path {rel!r} is not a plain repository path (use {clean!r})")
        if rel in self.protected or is_test_path(rel):
            raise PatchRefused(
                f"the patch changes {rel}, a test file; tests are not the patch's to change "
                "(nor to add, delete or rename): fix the code under test"
            )
        if PurePosixPath(rel).name in CONFIG_FILES:
            raise PatchRefused(
                f"the patch changes {rel}, test configuration; fix the code under test instead"
            )
        if is_startup_path(rel):
            raise PatchRefused(
                f"the patch writes {rel}, which would run at interpreter start or shadow the "
                "test runner; fix the code under test instead"
            )
        if root is not None:
            _no_symlink_on(root, rel)

    def check_added_code(self, rel: str, old: str, new: str) -> None:
        before = set(old.splitlines())
        for number, line in enumerate(new.splitlines(), 1):
            if line in before:
                continue
            hit = _RUNNER_CODE.search(line)
            if hit:
                raise PatchRefused(
                    f"{rel} line {number} uses {hit.group(0).strip()!r}: code under test may "
                    "not reach into the test runner, its reports or the process (pytest "
                    "internals, ctypes, gc object walks, /proc, os._exit); fix the bug itself"
                )


def _no_symlink_on(root: Path, rel: str) -> None:
    """Refuse a path whose file or any parent directory is a symlink in the repository."""
    current = root
    for part in PurePosixPath(rel).parts:
        current = current / part
        if current.is_symlink():
            raise PatchRefused(
                f"{rel} goes through the symlink {current.relative_to(root)}; edit the real file"
            )


def _pytest_section(rel: str, text: str | None) -> str:
    """The pytest part of setup.cfg / pyproject.toml (raw text when it does not parse)."""
    if text is None:
        return ""
    if rel.endswith(".toml"):
        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError:
            return text if "pytest" in text else ""
        return repr(tool.get("pytest")) if isinstance(tool, dict) else ""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return text if "pytest" in text else ""
    sections = [s for s in parser.sections() if "pytest" in s or s.startswith("tox")]
    return repr([(s, sorted(parser.items(s))) for s in sections])
