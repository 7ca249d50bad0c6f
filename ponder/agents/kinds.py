"""Task kinds: how a reply becomes a candidate (code or math), registered by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ponder.agents.base import Draft
from ponder.agents.parsing import extract_code, extract_math_answer, split_steps
from ponder.errors import ConfigError, OutputParseError


@dataclass(frozen=True)
class Kind:
    """A task kind: its template folder name and its candidate parser."""

    name: str
    extract: Callable[[str, object], str]
    steps_of: Callable[[str, list[str]], list[str]]

    def parse_candidate(self, text: str, task, plan: list[str], tokens: int = 0) -> Draft:
        """A Draft from a reply; unparsable replies keep the reason in `parse_error`."""
        try:
            answer = self.extract(text, task)
        except OutputParseError as exc:
            return Draft(text, None, self.steps_of(text, plan), exc.message, tokens)
        return Draft(text, answer, self.steps_of(text, plan), None, tokens)


def _code_answer(text: str, task) -> str:
    return extract_code(text, getattr(task, "entry_point", None) or None)


KINDS: dict[str, Kind] = {
    # Code: the steps are the plan thoughts the program was written from.
    "code": Kind("code", _code_answer, lambda text, plan: list(plan)),
    # Math: the steps are the solution's lines (what a PRM or judge scores).
    "math": Kind(
        "math", lambda text, task: extract_math_answer(text), lambda text, plan: split_steps(text)
    ),
}


def kind_of(task) -> Kind:
    """The Kind registered for `task.kind`."""
    name = getattr(task, "kind", None)
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(
            f"task kind {name!r} has no agents",
            fix=f"use one of {sorted(KINDS)} (repair tasks go through `ponder repair`)",
        ) from None
