"""Parse model output into thoughts, code, math answers and critiques; failures raise OutputParseError."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ponder.errors import OutputParseError
from ponder.kinds.answers import extract_answer
from ponder.verifiers.programs import fence, is_code, program_of

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_STEP_PREFIX = re.compile(
    r"^\s*(?:[-*•]\s+|(?:step\s*)?\d+\s*[.):]\s*|step\s*\d*\s*[:.-]\s*)", re.I
)
_WRONG_STEP = re.compile(r"(?:first\s+)?wrong\s+step\s*[:=#]?\s*(?:step\s*)?(\d+|none)", re.I)
_STEP_N = re.compile(r"\bstep\s*(\d+)\b", re.I)
_CODE_START = re.compile(r"^(?:def |async def |class |import |from \S+ import |@)", re.M)


@dataclass(frozen=True)
class Critique:
    """A Reviewer's verdict on a candidate: the first wrong step (0-based, None = unknown) and why."""

    text: str
    wrong_step: int | None


def _fix(kind: str) -> str:
    return (
        f"the model's {kind} was unusable; a larger budget samples again, or use a stronger --model"
    )


def _python_blocks(text: str) -> list[str]:
    blocks = []
    for lang, body in _FENCE.findall(text):
        if lang.lower() in ("", "python", "py", "python3"):
            blocks.append(body.strip("\n"))
    return [b for b in blocks if b.strip()]


def _bare_code(text: str) -> str | None:
    match = _CODE_START.search(text)
    if match is None:
        return None
    lines = text[match.start() :].splitlines()
    # Drop trailing prose: keep lines while the prefix still parses (longest parsing prefix).
    for end in range(len(lines), 0, -1):
        chunk = "\n".join(lines[:end]).rstrip()
        try:
            ast.parse(chunk)
        except SyntaxError:
            continue
        return chunk
    return "\n".join(lines).rstrip()


def _defines(code: str, name: str) -> bool:
    return (
        re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(name)}\b", code, re.M) is not None
    )


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The program in a reply: the fenced block that defines `entry_point`, else bare code.

    Raises OutputParseError naming what is missing when the reply holds no usable program.
    """
    blocks = _python_blocks(text)
    if entry_point:
        blocks = [b for b in blocks if _defines(b, entry_point)] or blocks
    code = max(blocks, key=len) if blocks else _bare_code(text)
    if not code:
        raise OutputParseError(
            f"no Python code in the reply (neither a fenced block nor bare code): {text[:120]!r}",
            fix=_fix("code"),
        )
    if entry_point and not _defines(code, entry_point):
        raise OutputParseError(
            f"the code does not define the entry point {entry_point!r}", fix=_fix("code")
        )
    return code


def _prose_lines(text: str) -> list[str]:
    """Non-empty lines before the first code fence."""
    lines = []
    for line in text.strip().splitlines():
        if line.strip().startswith("```"):
            break
        if line.strip():
            lines.append(line.strip())
    return lines


def _said_lines(text: str) -> list[str]:
    """Prose lines that hold a letter or digit: a LaTeX `\\[` opening a display, `**` or
    `---` says nothing."""
    return [line for line in _prose_lines(text) if any(ch.isalnum() for ch in line)]


def parse_thought(text: str) -> str:
    """One plan step: the first list item, else the first line that is not a preamble ("...:");
    lines that say nothing are passed over."""
    lines = _said_lines(text)
    items = [_STEP_PREFIX.sub("", line).strip() for line in lines if _STEP_PREFIX.match(line)]
    plain = [line for line in lines if not line.endswith(":")]
    for line in (*items, *plain):
        if line:
            return line[:300]
    raise OutputParseError(f"the reply holds no plan step: {text[:120]!r}", fix=_fix("plan step"))


def split_steps(text: str) -> list[str]:
    """Reasoning lines of a math solution (blank lines dropped), the unit step scores refer to."""
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def parse_critique(text: str, n_steps: int) -> Critique:
    """The Reviewer's reply: 'Wrong step: N' (1-based in the prompt) plus free feedback text."""
    body = text.strip()
    if not body:
        raise OutputParseError("the reviewer returned an empty critique", fix=_fix("critique"))
    match = _WRONG_STEP.search(body) or _STEP_N.search(body)
    wrong: int | None = None
    if match and match.group(1).lower() != "none":
        number = int(match.group(1))
        if 1 <= number <= n_steps:
            wrong = number - 1
    return Critique(text=body, wrong_step=wrong)


def extract_math_answer(text: str) -> str:
    """The final answer of a math solution: the last \\boxed{}, else 'The answer is X', else the last number."""
    answer = extract_answer(text)
    if not answer:
        raise OutputParseError(
            f"no final answer (no \\boxed{{}}, no 'The answer is', no number): {text[-120:]!r}",
            fix=_fix("solution"),
        )
    return answer


def find_program(text: str) -> str | None:
    """The program of a program-aided math reply: a python block, else bare code that prints."""
    program = program_of(text)
    if program is None:
        bare = _bare_code(text) or (text.strip() if is_code(text) else None)
        program = bare if bare and "print(" in bare else None
    return program


def extract_math_program(text: str) -> str:
    """A math reply's answer, deciding its kind: a program (fenced) if it holds one, else prose."""
    program = find_program(text)
    return fence(program) if program else extract_math_answer(text)


def parse_code_step(text: str, max_chars: int = 600) -> str:
    """One code-augmented step (rStar-Math): a comment saying what it does plus a few lines of
    Python. A reply without code keeps its plan line as a comment, so the path still runs."""
    code = program_of(text) or _bare_code(text) or _code_prefix(text)
    if code and _cut_off(text, code):
        code = _whole_lines(code)
    if code and not is_code(code):
        code = _code_prefix(code)
    if code and is_code(code):
        return _clip_lines(code.strip("\n"), max_chars)
    try:
        return "# " + parse_thought(text)
    except OutputParseError:
        # Only preambles ("We use the distance formula, which is:") before a cut-off display
        # or block: the preamble still says what the step does, as a comment.
        said = _said_lines(text)
        if not said:
            raise
        return "# " + said[0][:300]


def _cut_off(text: str, code: str) -> bool:
    """Whether the reply stopped inside `code`'s block (the thought's token cap cut it): a
    fence left open, the reply ending with the block's last line and no newline after it."""
    return text.count("```") % 2 == 1 and text.endswith(code.rstrip("\n"))


def _whole_lines(code: str) -> str:
    """A cut-off block without its last line, which may have stopped mid-expression and still
    parse as something else (`x = 12` cut from `x = 125`)."""
    lines = code.rstrip("\n").splitlines()
    return "\n".join(lines[:-1]) if len(lines) > 1 else code


def _code_prefix(text: str) -> str | None:
    """The longest run of leading lines that is Python (a step written without a fence)."""
    lines = text.strip().splitlines()
    for end in range(len(lines), 0, -1):
        chunk = "\n".join(lines[:end])
        if is_code(chunk):
            return chunk
    return None


def _clip_lines(code: str, max_chars: int) -> str:
    """Whole lines while they fit in `max_chars` (at least one)."""
    kept: list[str] = []
    for line in code.splitlines():
        if kept and sum(len(k) + 1 for k in kept) + len(line) > max_chars:
            break
        kept.append(line)
    return "\n".join(kept)
