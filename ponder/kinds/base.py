"""The task-kind plug-in: everything that differs between code, math and patches.

A strategy never knows what it searches. A kind decides how prompts are rendered (its
templates), how a reply becomes a candidate (with access to the node it builds on, so a patch
extends its parent's patch), what a node keeps as state (`Draft.state`, stored in node meta),
which verifiers a run uses by default, whether it needs a sandbox, what must be prepared once
per run (a repository's first test run and localization), and how a final solution is graded
on the hidden part.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import jinja2

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.parsing import Critique, parse_critique, parse_thought
from ponder.errors import ConfigError, OutputParseError
from ponder.kinds.origin import FROM_SCRATCH, Origin
from ponder.llm.base import Message

if TYPE_CHECKING:
    from ponder.budget import Budget
    from ponder.sandbox.base import Sandbox
    from ponder.task import Grade, Task, VisibleTask
    from ponder.tree import ThoughtTree


@dataclass(frozen=True)
class RunParts:
    """What `Kind.prepare` may use: the run's metered model and sandbox, and its budget."""

    model: Any
    sandbox: Sandbox | None
    budget: Budget


@cache
def _environment(folder: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


class Kind(ABC):
    """A task kind. Register one with `ponder.kinds.register_kind` (or the `ponder.kinds`
    entry-point group); `get_kind(task.kind)` returns it."""

    name: ClassVar[str]
    default_verifiers: ClassVar[tuple[str, ...]] = ()
    templates: ClassVar[Path]  # the folder of this kind's Jinja templates
    prefix: str = ""  # a variant of the templates (`pal_candidate.j2` for "pal_")
    # Strategy options this kind runs with unless a run sets them (a patch search expands
    # whole candidates, not thoughts): {strategy: {option: value}}.
    strategy_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    # Agent settings this kind runs with unless a run sets them (a patch reply is short).
    agent_defaults: ClassVar[dict[str, Any]] = {}

    def agents(self, settings: AgentSettings) -> AgentSettings:
        """`settings` with this kind's defaults for the fields a run left unset."""
        unset = {k: v for k, v in self.agent_defaults.items() if k not in settings.model_fields_set}
        return settings.model_copy(update=unset) if unset else settings

    def variant(self, settings: AgentSettings) -> Kind:
        """The kind as these agent settings use it (math may be program-aided)."""
        return self

    def needs_sandbox(self, settings: AgentSettings) -> bool:
        return True

    # ------------------------------------------------------------ prompts and parsing

    def template(self, name: str) -> str:
        return self.prefix + name

    def render(self, name: str, **context: Any) -> list[Message]:
        """Render this kind's template `name` into a one-message chat."""
        file = f"{self.template(name)}.j2"
        try:
            template = _environment(str(self.templates)).get_template(file)
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(
                f"no prompt template {file} for task kind {self.name!r}",
                fix=f"add {self.templates / file}",
            ) from exc
        context = self.prompt_context(context)
        return [{"role": "user", "content": template.render(**context).strip() + "\n"}]

    def prompt_context(self, context: dict[str, Any]) -> dict[str, Any]:
        """Extra template variables drawn from the task and `origin` (none by default)."""
        return context

    def parse_thought(self, text: str) -> str:
        return parse_thought(text)

    @abstractmethod
    def parse_candidate(
        self,
        text: str,
        task: VisibleTask,
        plan: list[str],
        tokens: int = 0,
        origin: Origin = FROM_SCRATCH,
    ) -> Draft:
        """A Draft from a reply; an unparsable reply keeps the reason in `parse_error`."""

    def parse_critique(self, text: str, steps: list[str]) -> Critique:
        return parse_critique(text, len(steps))

    def candidate_text(self, draft: Draft) -> str:
        """What a candidate node shows as its text: the whole reply by default."""
        return draft.text

    # ------------------------------------------------------------ the run

    async def prepare(self, task: VisibleTask, tree: ThoughtTree, parts: RunParts) -> None:  # noqa: B027
        """Once per run, before the search, on a fresh tree (a resumed run keeps what it
        prepared in the tree): nothing by default."""

    @abstractmethod
    async def grade(self, task: Task, solution: str, sandbox: Sandbox | None) -> Grade:
        """Grade a final solution against the hidden part (only after the search ended)."""


def draft_from(
    text: str, steps: list[str], tokens: int, extract, *, state: dict[str, Any] | None = None
) -> Draft:
    """A Draft from `extract(text)`; its OutputParseError becomes the parse error."""
    try:
        answer = extract(text)
    except OutputParseError as exc:
        return Draft(text, None, steps, exc.message, tokens)
    return Draft(text, answer, steps, None, tokens, state=dict(state or {}))
