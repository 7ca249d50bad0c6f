"""The repair agent: shows the localized files, proposes edits, and reviews a patch.

A proposal is a model reply turned into a patch of the whole repository (the node's state),
or a rejection whose reason is fed back into the next prompt. An edit the patch policy refuses
(tests, test configuration, paths outside the repository: `ponder.repair.policy`) is rejected
with the policy's reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from ponder.budget import Budget
from ponder.llm.base import Message, SamplingParams
from ponder.llm.client import ModelClient
from ponder.repair.edits import EditRejected, apply_edits, parse_edits
from ponder.repair.localize import Localization, definitions
from ponder.repair.patches import make_patch
from ponder.repair.policy import PatchPolicy
from ponder.repair.prompts import render_chat
from ponder.repair.task import RepairSpec
from ponder.repair.testing import TestReport
from ponder.repair.tools import RepoTools, number_lines


class RepairSettings(BaseModel):
    """How the repair agent prompts and samples (sized for a 0.5B model by default)."""

    max_files: int = Field(3, ge=1, description="files shown in the edit prompt")
    max_file_lines: int = Field(120, ge=10, description="longer files are shown around the hits")
    edit_max_tokens: int = Field(384, ge=16)
    review_max_tokens: int = Field(80, ge=8)
    temperature: float = Field(0.8, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)


@dataclass
class Attempt:
    """An earlier patch on the path, with what the tests and the reviewer said about it."""

    patch: str
    feedback: str
    critique: str = ""


@dataclass
class Proposal:
    """One reply: the resulting patch, or why its edits were rejected."""

    raw: str
    patch: str | None = None
    changed: list[str] = field(default_factory=list)
    error: str | None = None
    tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Review:
    text: str
    score: float | None  # in [0, 1], None when the reply gave no score


@dataclass
class ShownFile:
    path: str
    numbered: str


_SCORE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)", re.I)


class RepairAgent:
    """Proposes edits and critiques patches."""

    def __init__(self, client: ModelClient, settings: RepairSettings | None = None) -> None:
        self.client = client
        self.settings = settings or RepairSettings()

    # ------------------------------------------------------------ prompts

    def shown_files(self, tools: RepoTools, loc: Localization) -> list[ShownFile]:
        shown = []
        hits = loc.top(self.settings.max_files)
        hits = [h for i, h in enumerate(hits) if i == 0 or h.score >= 1.0]
        for hit in hits:
            text = tools.view.read(hit.path)
            if text is None:
                continue
            lines = text.splitlines()
            if len(lines) <= self.settings.max_file_lines:
                shown.append(ShownFile(hit.path, number_lines(text)))
                continue
            spans = definitions(text)
            windows = (
                [spans[f] for f in hit.functions if f in spans]
                or [(max(1, n - 10), n + 10) for n in hit.lines]
                or [(1, self.settings.max_file_lines)]
            )
            parts = [number_lines(text, max(1, a - 2), b + 2) for a, b in sorted(windows)[:3]]
            shown.append(ShownFile(hit.path, "\n...\n".join(parts)))
        return shown[::-1]  # the likeliest file last, nearest the instruction

    def edit_prompt(
        self,
        spec: RepairSpec,
        tools: RepoTools,
        loc: Localization,
        tests: str,
        previous: Attempt | None = None,
        rejected: list[str] | None = None,
    ) -> list[Message]:
        return render_chat(
            "edit.j2",
            problem=spec.problem.strip(),
            tests=tests.strip(),
            files=self.shown_files(tools, loc),
            previous=previous,
            rejected=rejected or [],
            target=likely_target(tools, loc),
        )

    # ------------------------------------------------------------ acting

    async def propose(
        self,
        spec: RepairSpec,
        tools: RepoTools,
        loc: Localization,
        tests: str,
        n: int,
        budget: Budget | None,
        *,
        greedy: bool = False,
        seed: int | None = None,
        previous: Attempt | None = None,
        rejected: list[str] | None = None,
    ) -> list[Proposal]:
        """n proposals from ONE call, each applied on top of the repository at `tools.patch`."""
        s = self.settings
        params = SamplingParams(
            n=n,
            max_tokens=s.edit_max_tokens,
            temperature=0.0 if greedy else s.temperature,
            top_p=1.0 if greedy else s.top_p,
            seed=seed,
        )
        messages = self.edit_prompt(spec, tools, loc, tests, previous, rejected)
        gen = await self.client.generate(messages, params, budget=budget)
        out = []
        for completion in gen.completions:
            proposal = self.to_proposal(completion.text, spec, tools)
            proposal.tokens = completion.completion_tokens
            out.append(proposal)
        return out

    def to_proposal(self, text: str, spec: RepairSpec, tools: RepoTools) -> Proposal:
        """Parse and apply a reply; a reply that does not apply becomes a rejection reason."""
        try:
            changes = apply_edits(tools.view, parse_edits(text))
            policy = PatchPolicy.for_repo(tools.snapshot, spec.protected_files())
            policy.check_changes(tools.view, changes, tools.snapshot.root)
            for rel, new in changes.items():
                if new is not None and rel.endswith(".py"):
                    _check_syntax(rel, new)
            full = tools.view.changes | changes
            patch = make_patch(tools.snapshot, full)
            if patch == tools.patch:
                raise EditRejected("the edit changes nothing; REPLACE must differ from SEARCH")
        except EditRejected as exc:
            return Proposal(raw=text, error=exc.reason)
        except (ValueError, IndexError, KeyError, RecursionError) as exc:
            # Model output must never crash the search: an unexpected shape is a rejection.
            return Proposal(
                raw=text, error=f"could not apply the edit ({type(exc).__name__}: {exc})"
            )
        return Proposal(raw=text, patch=patch, changed=sorted(changes))

    async def review(
        self,
        spec: RepairSpec,
        patch: str,
        report: TestReport,
        budget: Budget | None,
        *,
        seed: int | None = None,
    ) -> Review:
        """The value agent: a one-sentence critique and a 0-10 score of the patch."""
        messages = render_chat(
            "review.j2",
            problem=spec.problem.strip(),
            patch=patch.strip(),
            tests=report.summary() or "(no output)",
        )
        params = SamplingParams(
            n=1, max_tokens=self.settings.review_max_tokens, temperature=0.0, seed=seed
        )
        gen = await self.client.generate(messages, params, budget=budget)
        return parse_review(gen.text)


@dataclass
class Target:
    """The likeliest function to change: its file, name and `def` line (a hint in the prompt)."""

    path: str
    name: str
    signature: str


def likely_target(tools: RepoTools, loc: Localization) -> Target | None:
    for hit in loc.top(1):
        text = tools.view.read(hit.path) or ""
        lines = text.splitlines()
        spans = definitions(text)
        for name in hit.functions:
            if name in spans:
                line = lines[spans[name][0] - 1].strip()
                if line.startswith(("def ", "async def ")):
                    return Target(hit.path, name, line)
    return None


def parse_review(text: str) -> Review:
    match = _SCORE.search(text)
    score = None
    if match:
        score = max(0.0, min(10.0, float(match.group(1)))) / 10.0
    critique = _SCORE.sub("", text).strip().splitlines()
    return Review(text=" ".join(x.strip() for x in critique if x.strip())[:400], score=score)


def _check_syntax(rel: str, text: str) -> None:
    try:
        compile(text, rel, "exec")
    except SyntaxError as exc:
        raise EditRejected(
            f"after the edit, {rel} is not valid Python (line {exc.lineno}: {exc.msg}); "
            "keep the indentation of the lines you replace"
        ) from None
