"""Task kinds: how a reply becomes a candidate (code or math), registered by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ponder.agents.base import AgentSettings, Draft
from ponder.agents.parsing import (
    extract_code,
    extract_math_answer,
    extract_math_program,
    find_program,
    parse_code_step,
    parse_thought,
    split_steps,
)
from ponder.errors import ConfigError, OutputParseError
from ponder.verifiers.programs import program_steps


@dataclass(frozen=True)
class Kind:
    """A task kind: its template folder name, its candidate parser and its thought parser.

    `prefix` picks a variant of the folder's templates (`pal_candidate.j2` for `pal_`).
    """

    name: str
    extract: Callable[[str, object], str]
    steps_of: Callable[[str, list[str]], list[str]]
    parse_thought: Callable[[str], str] = parse_thought
    prefix: str = ""

    def template(self, name: str) -> str:
        return self.prefix + name

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


def _pal_steps(text: str, plan: list[str]) -> list[str]:
    program = find_program(text)
    return program_steps(program) if program else split_steps(text)


# Program-aided math (PAL / program of thought): the prompts ask for a program, and each
# reply is a program when it holds one (its steps are its code chunks), else prose. Thoughts
# are code-augmented steps: a comment and a few lines of Python, run by `executes`.
PAL_MATH = Kind(
    "math",
    lambda text, task: extract_math_program(text),
    _pal_steps,
    parse_code_step,
    prefix="pal_",
)


def kind_for(task, settings: AgentSettings) -> Kind:
    """The Kind of `task` under the agents' settings (math may be program-aided)."""
    kind = kind_of(task)
    return PAL_MATH if kind.name == "math" and settings.program_aided() else kind


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
