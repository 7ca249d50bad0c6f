"""The repair kind: a candidate is a patch of a repository, built on the node it revises.

A node's state is a whole patch against the original repository (`meta["patch"]`), never a
container: the prompt shows the likely files as they are at the parent's patch, the parent's
test result, its critique and why recent edits were rejected; a reply's edits (search/replace
blocks or whole functions) are applied on top of the parent's patch and checked by the patch
policy (no edits to tests, test configuration or paths outside the repository) before they
become a candidate. `prepare` runs the tests on the unchanged repository and localizes the
likely files once per run, keeping both on the root node (a resumed run reads them there).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from ponder.agents.base import Draft
from ponder.agents.parsing import Critique
from ponder.errors import ConfigError, OutputParseError
from ponder.kinds.base import FROM_SCRATCH, Kind, Origin, RunParts
from ponder.llm.base import Message
from ponder.repair.edits import EditRejected, apply_edits, parse_edits
from ponder.repair.localize import Localization, definitions, llm_pick, localize
from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.policy import PatchPolicy
from ponder.repair.sources import lines_of
from ponder.repair.tools import RepoTools, number_lines
from ponder.repair.workspace import RepoSnapshot

if TYPE_CHECKING:
    from ponder.sandbox.base import Sandbox
    from ponder.task import Grade, Repository, Task, VisibleTask
    from ponder.tree import ThoughtTree

TEMPLATES = Path(__file__).parents[1] / "repair" / "templates"
# Unlike the other kinds' templates, these take a block tag's whole line (trim_blocks).
_PROMPTS = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_FILES = 3  # files shown in the edit prompt
MAX_FILE_LINES = 120  # longer files are shown around the localized lines
_TEMPLATE = {"candidate": "edit", "revise": "edit", "review": "review", "localize": "localize"}
_SCORE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)", re.I)


def repository_of(task: VisibleTask) -> Repository:
    if task.repository is None:
        raise ConfigError(
            f"repair task {task.id} names no repository",
            fix="give the task a `repository` (a checkout and its test command)",
        )
    return task.repository


_SNAPSHOTS: dict[str, RepoSnapshot] = {}  # by checkout; `prepare` drops a run's entry


def snapshot_of(task: VisibleTask) -> RepoSnapshot:
    """The task's checkout, read lazily and never written to."""
    repository = repository_of(task)
    if repository.dir is None:
        raise ConfigError(
            f"task {task.id} has no local checkout of {repository.url or 'its repository'}",
            fix=f"clone it, check out {repository.base_commit or 'the base commit'}, and pass "
            "it with --repo-dir",
        )
    if repository.dir not in _SNAPSHOTS:
        _SNAPSHOTS[repository.dir] = RepoSnapshot(repository.dir)
    return _SNAPSHOTS[repository.dir]


def base_patch(origin: Origin) -> str:
    """The patch a new candidate builds on: its parent's, else the root's (the setup patch)."""
    node = origin.parent or origin.root
    return node.meta.get("patch", "") if node is not None else ""


class RepairKind(Kind):
    name = "repair"
    default_verifiers = ("repo_tests",)
    templates = TEMPLATES
    # SWE-Search's MCTS: nodes are whole patches, revised from their test results and
    # critique, and a node is widened while its children score nothing.
    strategy_defaults = {
        "mcts": {"expand": "candidates", "widening": True, "rethinks_per_iteration": 3}
    }
    # An edit is a few search/replace blocks or one function; a critique one sentence.
    agent_defaults = {"candidate_max_tokens": 384, "critique_max_tokens": 80}

    # ------------------------------------------------------------ prompts

    def render(self, name: str, **context: Any) -> list[Message]:
        """The edit prompt (`candidate`, `revise`), the Reviewer's (`review`: `candidate`,
        `feedback`) or the localization pick's (`localize`: `files`, the outlines)."""
        if name not in _TEMPLATE:
            raise ConfigError(
                f"task kind 'repair' has no {name!r} prompt (it searches over whole patches)",
                fix="use a strategy that writes candidates (greedy, best_of_n, refine, or mcts "
                "with expand: candidates)",
            )
        template = _PROMPTS.get_template(f"{_TEMPLATE[name]}.j2")
        task: VisibleTask = context["task"]
        if name == "localize":
            values = {"problem": task.prompt, "files": context["files"]}
        elif name == "review":
            candidate: Draft = context["candidate"]
            values = {
                "problem": task.prompt.strip(),
                "patch": (candidate.answer or "").strip(),
                "tests": context.get("feedback") or "(no output)",
            }
        else:
            values = edit_values(task, context.get("origin", FROM_SCRATCH))
        return [{"role": "user", "content": template.render(**values).strip() + "\n"}]

    # ------------------------------------------------------------ parsing

    def parse_candidate(
        self,
        text: str,
        task: VisibleTask,
        plan: list[str],
        tokens: int = 0,
        origin: Origin = FROM_SCRATCH,
    ) -> Draft:
        """Apply the reply's edits on top of the parent's patch; a reply that does not apply,
        or that the patch policy refuses, is a parse error whose reason is fed back."""
        repository = repository_of(task)
        tools = RepoTools(snapshot_of(task), base_patch(origin))
        try:
            changes = apply_edits(tools.view, parse_edits(text))
            policy = PatchPolicy.for_repo(tools.snapshot, repository.protected_files())
            policy.check_changes(tools.view, changes, tools.snapshot.root)
            for rel, new in changes.items():
                if new is not None and rel.endswith(".py"):
                    try:
                        compile(new, rel, "exec")
                    except SyntaxError as exc:
                        raise EditRejected(
                            f"after the edit, {rel} is not valid Python (line {exc.lineno}: "
                            f"{exc.msg}); keep the indentation of the lines you replace"
                        ) from None
            patch = make_patch(tools.snapshot, tools.view.changes | changes)
            if patch == tools.patch:
                raise EditRejected("the edit changes nothing; REPLACE must differ from SEARCH")
        except EditRejected as exc:
            return Draft(text, None, [], exc.reason, tokens)
        except (ValueError, IndexError, KeyError, RecursionError) as exc:
            # Model output must never crash the search: an unexpected shape is a rejection.
            reason = f"could not apply the edit ({type(exc).__name__}: {exc})"
            return Draft(text, None, [], reason, tokens)
        state = {"patch": patch, "changed": sorted(changes)}
        return Draft(text, patch, [], None, tokens, state=state)

    def candidate_text(self, draft: Draft) -> str:
        return draft.answer if draft.ok and draft.answer else draft.text

    def parse_critique(self, text: str, steps: list[str]) -> Critique:
        """The Reviewer's one sentence on what is still wrong (its 0-10 score is dropped: the
        tests value a patch)."""
        critique = _SCORE.sub("", text).strip().splitlines()
        body = " ".join(x.strip() for x in critique if x.strip())[:400]
        if not body:
            raise OutputParseError("the reviewer returned an empty critique", fix="sample again")
        return Critique(text=body, wrong_step=None)

    # ------------------------------------------------------------ the run

    async def prepare(self, task: VisibleTask, tree: ThoughtTree, parts: RunParts) -> None:
        """Test the unchanged repository (with the setup patch), localize the likely files,
        let the model pick among them, and keep all of it on the root."""
        from ponder.verifiers.repo_tests import RepoTestsVerifier

        repository = repository_of(task)
        _SNAPSHOTS.pop(repository.dir or "", None)  # a new run reads the checkout afresh
        snapshot = snapshot_of(task)
        root_patch = repository.setup_patch
        if root_patch:
            root_patch = make_patch(snapshot, apply_patch(snapshot, root_patch))
        tools = RepoTools(snapshot, root_patch)
        verifier = RepoTestsVerifier(parts.sandbox, parts.budget)
        report = await verifier.report(task, root_patch)
        loc = localize(task, tools, report.output)
        if not parts.budget.exhausted():
            await llm_pick(self, task, tools, loc, parts.model, parts.budget)
        root = tree.root
        tree.add_verdict(root.id, verifier.name, verifier.verdict(report))
        tree.update(
            root.id,
            feedback=report.summary()[:2000],
            meta=root.meta | {"patch": root_patch, "localization": loc.to_dict()},
        )

    async def grade(self, task: Task, solution: str, sandbox: Sandbox | None) -> Grade:
        from ponder.repair.grading import grade_patch

        return await grade_patch(task, solution, sandbox)


# ---------------------------------------------------------------- prompt parts


def edit_values(task: VisibleTask, origin: Origin) -> dict[str, Any]:
    """The edit prompt's parts: the likely files at the parent's patch, the parent's test
    result and critique, and why recent edits were rejected."""
    tools = RepoTools(snapshot_of(task), base_patch(origin))
    hits = origin.root.meta.get("localization") if origin.root is not None else None
    loc = Localization.from_dict(hits or [])
    parent = origin.parent
    tested = parent or origin.root  # the node whose test result the prompt shows
    previous = None
    if parent is not None:
        # The patch this revision builds on, with what the tests and the Reviewer said.
        previous = {
            "patch": base_patch(origin),
            "feedback": headline(parent.verdicts) or (parent.feedback or "").split("\n", 1)[0],
            "critique": parent.critique,
        }
    return {
        "problem": task.prompt.strip(),
        "tests": tested.feedback.strip() if tested else "",
        "files": shown_files(tools, loc),
        "previous": previous,
        "rejected": list(origin.rejected),
        "target": likely_target(tools, loc),
    }


def headline(verdicts: dict[str, dict[str, Any]]) -> str:
    """The first test headline among `verdicts` and their parts (which tests still fail or
    broke, and why)."""
    for verdict in verdicts.values():
        details = verdict.get("details") or {}
        if found := details.get("headline") or headline(details.get("parts") or {}):
            return found
    return ""


def shown_files(tools: RepoTools, loc: Localization) -> list[dict[str, str]]:
    """The likely files with line numbers (long ones around the localized lines), the
    likeliest last, nearest the instruction."""
    shown = []
    for i, hit in enumerate(loc.top(MAX_FILES)):
        text = tools.view.read(hit.path)
        if text is None or (i > 0 and hit.score < 1.0):
            continue
        if len(lines_of(text)) <= MAX_FILE_LINES:
            numbered = number_lines(text)
        else:
            spans = definitions(text)
            windows = (
                [spans[f] for f in hit.functions if f in spans]
                or [(max(1, n - 10), n + 10) for n in hit.lines]
                or [(1, MAX_FILE_LINES)]
            )
            parts = [number_lines(text, max(1, a - 2), b + 2) for a, b in sorted(windows)[:3]]
            numbered = "\n...\n".join(parts)
        shown.append({"path": hit.path, "numbered": numbered})
    return shown[::-1]


def likely_target(tools: RepoTools, loc: Localization) -> dict[str, str] | None:
    """The likeliest function to change (a hint in the prompt): its file and name."""
    for hit in loc.top(1):
        text = tools.view.read(hit.path) or ""
        lines = lines_of(text, keepends=False)
        spans = definitions(text)
        for name in hit.functions:
            if name in spans and lines[spans[name][0] - 1].lstrip().startswith(
                ("def ", "async def ")
            ):
                return {"path": hit.path, "name": name}
    return None
