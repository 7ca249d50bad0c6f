"""Search over patches: `mcts` (SWE-Search-style), `best_of_n` with the chooser, `refine`, `single`.

A node's state is a patch (unified diff against the original repository), never a container:
any node is rebuilt from the original plus its patch, in a fresh copy, by the runner (which
caches test results by the hash of repository, patch and command). A node's value comes from
its test results (FAIL_TO_PASS fixed, scaled down by PASS_TO_PASS broken) plus the Reviewer's
score, and the Reviewer's critique is fed into the prompts of the node's children.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.budget import Budget
from ponder.errors import ConfigError
from ponder.repair.agent import Attempt, RepairAgent
from ponder.repair.localize import Localization, llm_pick, localize
from ponder.repair.patches import apply_patch, make_patch
from ponder.repair.task import RepairSpec
from ponder.repair.testing import RepoRunner, TestReport
from ponder.repair.tools import RepoTools
from ponder.repair.workspace import RepoSnapshot
from ponder.task import VisibleTask
from ponder.tree import Node, ThoughtTree
from ponder.verifiers.base import Candidate, Verdict


class SearchOptions(BaseModel):
    """Options shared by every patch strategy (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    review: bool = Field(True, description="run the Reviewer on failing patches")
    review_weight: float = Field(0.2, ge=0.0, le=1.0, description="Reviewer's share of a value")
    llm_localize: bool = Field(True, description="let the model pick among the likely files")


@dataclass
class RepairContext:
    """The parts a patch strategy works with. Only the visible spec is here, by type."""

    spec: RepairSpec
    snapshot: RepoSnapshot
    runner: RepoRunner
    agent: RepairAgent
    budget: Budget
    options: SearchOptions
    tree: ThoughtTree = field(default_factory=ThoughtTree)
    chooser: Any = None  # a Verifier (e.g. ponder.verifiers.chooser.ChooserVerifier)
    seed: int = 0
    loc: Localization | None = None
    start_report: TestReport | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    _by_patch: dict[str, str] = field(default_factory=dict)
    _reports: dict[str, TestReport] = field(default_factory=dict)

    # ------------------------------------------------------------ setup

    async def start(self) -> str:
        """Run the tests on the unchanged repository, localize, and add the root node."""
        root_patch = self.spec.setup_patch
        if root_patch:
            root_patch = make_patch(self.snapshot, apply_patch(self.snapshot, root_patch))
        tools = RepoTools(self.snapshot, root_patch)
        self.start_report = await tools.run_tests(self.spec, self.runner)
        self.loc = localize(self.spec, tools, self.start_report.output)
        if self.options.llm_localize and not self.budget.exhausted():
            await llm_pick(self.spec, tools, self.loc, self.agent.client, self.budget)
        root = self.tree.add_root(
            self.spec.problem[:200], meta={"patch": root_patch, "localization": self.loc.to_dict()}
        )
        self._record_tests(root.id, self.start_report)
        self._by_patch[root_patch] = root.id
        self.event("start", resolved=self.start_report.resolved, files=self.loc.paths())
        return root.id

    def event(self, kind: str, **data: Any) -> None:
        self.events.append({"event": kind, **data, "spent": self.budget.spent.to_dict()})

    def seed_for(self, *parts: object) -> int:
        blob = ":".join(str(p) for p in (self.seed, *parts)).encode()
        return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big")

    # ------------------------------------------------------------ nodes

    @property
    def root(self) -> str:
        """The root node's id: the repository before any candidate edit."""
        return self.tree.root_id or "n0"

    def node(self, node_id: str) -> Node:
        return self.tree.node(node_id)

    def patch_of(self, node_id: str) -> str:
        return self.node(node_id).meta.get("patch", "")

    def report_of(self, node_id: str) -> TestReport | None:
        return self._reports.get(node_id)

    def attempt_of(self, node_id: str) -> Attempt | None:
        node = self.node(node_id)
        if node.kind == "root":
            return None
        report = self.report_of(node_id)
        feedback = report.headline() if report else node.feedback
        return Attempt(patch=self.patch_of(node_id), feedback=feedback, critique=node.critique)

    def tests_text(self, node_id: str) -> str:
        report = self.report_of(node_id)
        return report.summary() if report else ""

    def rejected_under(self, node_id: str, limit: int = 2) -> list[str]:
        failed = [c for c in self.tree.children(node_id) if c.parse_error]
        return [c.parse_error for c in failed[-limit:] if c.parse_error]

    # ------------------------------------------------------------ expand and evaluate

    async def expand(self, node_id: str, n: int, greedy: bool = False) -> list[str]:
        """n children of `node_id` from one agent call; rejected edits become failed nodes."""
        assert self.loc is not None, "call start() first"
        tools = RepoTools(self.snapshot, self.patch_of(node_id))
        proposals = await self.agent.propose(
            self.spec,
            tools,
            self.loc,
            self.tests_text(node_id),
            n,
            self.budget,
            greedy=greedy,
            seed=self.seed_for("expand", node_id, len(self.tree.children(node_id))),
            previous=self.attempt_of(node_id),
            rejected=self.rejected_under(node_id),
        )
        ids = []
        for p in proposals:
            if not p.ok:
                node = self.tree.add_child(
                    node_id,
                    "candidate",
                    p.raw,
                    prior=1.0 / len(proposals),
                    status="failed",
                    parse_error=p.error,
                    feedback=f"edit rejected: {p.error}",
                    meta={"raw": p.raw, "tokens": p.tokens},
                )
            else:
                node = self.tree.add_child(
                    node_id,
                    "candidate",
                    p.patch or "",
                    prior=1.0 / len(proposals),
                    answer=p.patch,
                    meta={
                        "raw": p.raw,
                        "patch": p.patch,
                        "changed": p.changed,
                        "tokens": p.tokens,
                        "duplicate_of": self._by_patch.get(p.patch or ""),
                    },
                )
                self._by_patch.setdefault(p.patch or "", node.id)
            ids.append(node.id)
        self.event(
            "expand", parent=node_id, children=ids, rejected=sum(1 for p in proposals if not p.ok)
        )
        return ids

    async def evaluate(self, ids: list[str], review: bool | None = None) -> None:
        """Run the tests on each live node (cached by patch), then the Reviewer on failures."""
        review = self.options.review if review is None else review
        for node_id in ids:
            node = self.node(node_id)
            if node.parse_error is not None:
                self.tree.update(node_id, meta=node.meta | {"value": 0.0})
                continue
            tools = RepoTools(self.snapshot, self.patch_of(node_id))
            report = await tools.run_tests(self.spec, self.runner)
            self._record_tests(node_id, report)
            twin = node.meta.get("duplicate_of")
            if twin and "reviewer" in self.node(twin).verdicts:
                # The same patch was reviewed already: reuse its critique.
                self.tree.add_verdict(node_id, "reviewer", self.node(twin).verdicts["reviewer"])
                self.tree.update(node_id, critique=self.node(twin).critique)
            elif review and not report.resolved and not self.budget.exhausted():
                critique = await self.agent.review(
                    self.spec,
                    self.patch_of(node_id),
                    report,
                    self.budget,
                    seed=self.seed_for("review", node_id),
                )
                score = 0.5 if critique.score is None else critique.score
                self.tree.add_verdict(
                    node_id, "reviewer", Verdict(score=score, passed=None, feedback=critique.text)
                )
                self.tree.update(node_id, critique=critique.text)
            self.tree.update(node_id, meta=self.node(node_id).meta | {"value": self.value(node_id)})
            self.event(
                "evaluate", node=node_id, resolved=report.resolved, value=self.value(node_id)
            )

    def _record_tests(self, node_id: str, report: TestReport) -> None:
        verdict = Verdict(
            score=report.value(),
            passed=report.resolved,
            feedback=report.summary(),
            details=report.to_dict(),
        )
        self.tree.add_verdict(node_id, "tests", verdict)
        node = self.node(node_id)
        status = node.status if node.kind == "root" else ("passed" if report.resolved else "open")
        self._reports[node_id] = report
        self.tree.update(
            node_id,
            status=status,
            feedback=report.summary()[:2000],
            meta=node.meta | {"tests": report.to_dict()},
        )

    def value(self, node_id: str) -> float:
        """Tests value, blended with the Reviewer's score when there is one (1.0 when resolved)."""
        node = self.node(node_id)
        if node.parse_error is not None:
            return 0.0
        report = self.report_of(node_id)
        if report is None:
            return 0.0
        if report.resolved:
            return 1.0
        tests = report.value()
        reviewer = node.verdicts.get("reviewer")
        if reviewer is None:
            return tests
        w = self.options.review_weight
        return round((1 - w) * tests + w * float(reviewer["score"]), 4)

    def solved(self, ids: list[str]) -> str | None:
        for node_id in ids:
            report = self.report_of(node_id)
            if report is not None and report.resolved and self.node(node_id).kind != "root":
                return node_id
        return None

    def candidates(self) -> list[Node]:
        return [
            n for n in self.tree.candidates() if n.parse_error is None and n.id in self._reports
        ]

    def best(self) -> Node | None:
        """Resolved first, then the tests' value, then fewer tests broken, then the blended
        value (the Reviewer breaks ties), then the smaller patch, then the earlier node."""
        cands = self.candidates()
        if not cands:
            return None

        def rank(n: Node) -> tuple:
            report = self._reports[n.id]
            return (
                report.resolved,
                report.value(),
                -len(report.p2p_broken),
                self.value(n.id),
                -len(self.patch_of(n.id)),
                -int(n.id[1:]),
            )

        return max(cands, key=rank)

    async def choose(self, nodes: list[Node]) -> Node:
        """The chooser verifier's pick among equally valued nodes (the first without one)."""
        if self.chooser is None or len(nodes) < 2 or self.budget.exhausted():
            return nodes[0]
        task = VisibleTask(id=self.spec.id, kind="repair", prompt=self.spec.problem)
        verdicts = await self.chooser.verify(
            task, [Candidate(id=n.id, text=self.patch_of(n.id)) for n in nodes]
        )
        for node, verdict in zip(nodes, verdicts, strict=True):
            self.tree.add_verdict(node.id, getattr(self.chooser, "name", "chooser"), verdict)
        return max(zip(nodes, verdicts, strict=True), key=lambda nv: nv[1].score)[0]


class PatchStrategy(ABC):
    """A search over patches; `run` grows `ctx.tree` until solved or out of budget."""

    name: ClassVar[str]
    Options: ClassVar[type[SearchOptions]] = SearchOptions

    def __init__(self, options: SearchOptions | None = None) -> None:
        self.options = options or self.Options()

    @abstractmethod
    async def run(self, ctx: RepairContext) -> Node | None:
        """Search; return the chosen node (or None when no candidate was produced)."""


STRATEGIES: dict[str, type[PatchStrategy]] = {}


def register(name: str) -> Callable[[type[PatchStrategy]], type[PatchStrategy]]:
    def deco(cls: type[PatchStrategy]) -> type[PatchStrategy]:
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return deco


def make_strategy(name: str, options: dict[str, Any] | None = None) -> PatchStrategy:
    """A patch strategy by name, its options validated."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ConfigError(
            f"unknown repair strategy {name!r}", fix=f"use one of: {', '.join(STRATEGIES)}"
        )
    try:
        return cls(cls.Options.model_validate(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            f"bad option {'.'.join(map(str, first['loc']))!r} for repair strategy {name!r}: {first['msg']}",
            fix=f"options: {', '.join(cls.Options.model_fields)}",
        ) from None


@register("single")
class SingleShot(PatchStrategy):
    """One greedy proposal from the unchanged repository."""

    async def run(self, ctx: RepairContext) -> Node | None:
        ids = await ctx.expand(ctx.root, n=1, greedy=True)
        await ctx.evaluate(ids, review=False)
        return ctx.best()


class BestOfNOptions(SearchOptions):
    n: int = Field(4, ge=1, description="proposals (one greedy, the rest sampled in one call)")


@register("best_of_n")
class BestOfN(PatchStrategy):
    """n proposals; tests rank them; the chooser verifier breaks ties among the best."""

    Options = BestOfNOptions
    options: BestOfNOptions

    async def run(self, ctx: RepairContext) -> Node | None:
        root = ctx.root
        ids = await ctx.expand(root, n=1, greedy=True)
        if self.options.n > 1 and not ctx.budget.exhausted():
            ids += await ctx.expand(root, n=self.options.n - 1)
        await ctx.evaluate(ids, review=False)
        cands = ctx.candidates()
        if not cands:
            return None
        top = max(ctx.value(n.id) for n in cands)
        tied, seen = [], set()
        for n in cands:
            if ctx.value(n.id) == top and ctx.patch_of(n.id) not in seen:
                seen.add(ctx.patch_of(n.id))
                tied.append(n)
        return await ctx.choose(tied[:4])


class RefineOptions(SearchOptions):
    rounds: int = Field(4, ge=0, description="review-then-rewrite rounds after the first proposal")


@register("refine")
class Refine(PatchStrategy):
    """Self-Refine / IAD: a greedy proposal, then rewrite the best patch so far from its critique."""

    Options = RefineOptions
    options: RefineOptions

    async def run(self, ctx: RepairContext) -> Node | None:
        root = ctx.root
        ids = await ctx.expand(root, n=1, greedy=True)
        await ctx.evaluate(ids)
        for _ in range(self.options.rounds):
            if ctx.solved(ids) or ctx.budget.exhausted():
                break
            best = ctx.best()
            parent = best.id if best is not None else root
            ids = await ctx.expand(parent, n=1, greedy=best is not None)
            await ctx.evaluate(ids)
        return ctx.best()


class MCTSOptions(SearchOptions):
    iterations: int = Field(8, ge=1, description="select-expand-evaluate-backpropagate rounds")
    width: int = Field(3, ge=1, description="children per expansion (one call, n=width)")
    max_depth: int = Field(3, ge=1, description="edits stacked on one path")
    c_uct: float = Field(1.0, ge=0.0, description="exploration constant")
    max_expansions: int = Field(3, ge=1, description="times one node may be expanded")


@register("mcts")
class MCTS(PatchStrategy):
    """SWE-Search-style MCTS over patches: UCT selection, expansion by the agent (with the
    parent's test feedback and critique), value = tests + Reviewer, backpropagation."""

    Options = MCTSOptions
    options: MCTSOptions

    async def run(self, ctx: RepairContext) -> Node | None:
        o = self.options
        root = ctx.root
        expansions: dict[str, int] = {}
        for iteration in range(o.iterations):
            if ctx.budget.exhausted():
                ctx.event("stop", reason=ctx.budget.exhausted_reason())
                break
            leaf = self.select(ctx, root, expansions)
            if leaf is None:
                ctx.event("stop", reason="nothing left to expand")
                break
            first = leaf == root and not ctx.tree.children(root)
            ids = await ctx.expand(leaf, n=1, greedy=True) if first else []
            if o.width - len(ids) > 0 and not ctx.budget.exhausted():
                ids += await ctx.expand(leaf, n=o.width - len(ids))
            expansions[leaf] = expansions.get(leaf, 0) + 1
            await ctx.evaluate(ids)
            for node_id in ids:
                ctx.tree.backpropagate(node_id, ctx.value(node_id))
            ctx.event("iteration", iteration=iteration + 1, leaf=leaf)
            if ctx.solved(ids):
                ctx.event("stop", reason="a patch passed the tests")
                break
        return ctx.best()

    def select(self, ctx: RepairContext, root: str, expansions: dict[str, int]) -> str | None:
        """Descend by UCT to a node to expand; a node is expanded again while all its children
        scored zero, and a spent subtree (depth or expansion limits) is skipped."""
        spent: set[str] = set()
        while root not in spent:
            leaf = self._descend(ctx, root, expansions, spent)
            if leaf is not None:
                return leaf
        return None

    def _descend(
        self, ctx: RepairContext, root: str, expansions: dict[str, int], spent: set[str]
    ) -> str | None:
        o = self.options
        node_id = root
        while True:
            node = ctx.node(node_id)
            live = [
                c
                for c in ctx.tree.children(node_id)
                if c.parse_error is None and ctx.report_of(c.id) is not None and c.id not in spent
            ]
            can_expand = node.depth < o.max_depth and expansions.get(node_id, 0) < o.max_expansions
            if not live or all(ctx.value(c.id) == 0.0 for c in live):
                if can_expand:
                    return node_id
                spent.add(node_id)
                return None
            parent_visits = max(1, node.visits)

            def uct(c: Node, visits: int = parent_visits) -> float:
                return c.value + o.c_uct * math.sqrt(math.log(visits + 1) / (c.visits + 1))

            # Re-expanding this node competes with its best child (progressive widening).
            widen = 0.5 * max(ctx.value(c.id) for c in live) + o.c_uct * math.sqrt(
                math.log(parent_visits + 1) / (expansions.get(node_id, 0) + 1)
            )
            best = max(live, key=uct)
            if can_expand and (widen > uct(best) or best.depth >= o.max_depth):
                return node_id
            if best.depth >= o.max_depth:
                spent.add(best.id)
                return None
            node_id = best.id
