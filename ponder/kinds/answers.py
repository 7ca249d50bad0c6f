"""Final-answer extraction from math solutions, and answer equivalence by math-verify."""

from __future__ import annotations

import re
import threading

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_PHRASES = [
    re.compile(r"final answer\s*(?:is|:)\s*(.+)", re.IGNORECASE),
    re.compile(r"the answer is\s*:?\s*(.+)", re.IGNORECASE),
    re.compile(r"^\s*answer\s*:\s*(.+)", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^\s*####\s*(.+)", re.MULTILINE),
]


def extract_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\fbox{...}`), nested braces included."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                content = text[i + 1 : j].strip()
                return content or None
    return None


def _clean(answer: str) -> str:
    answer = answer.strip()
    boxed = extract_boxed(answer)
    if boxed:
        return boxed
    answer = answer.splitlines()[0].strip() if answer else answer
    answer = answer.strip("$ ").rstrip(".").strip("$ ")
    answer = re.sub(r"^\\\(|\\\)$", "", answer).strip()
    if _GROUPED.fullmatch(answer):
        answer = answer.replace(",", "")
    return answer


def extract_phrase(text: str) -> str | None:
    """The answer after 'The answer is', 'Final answer:', 'Answer:' or '####' (the last one)."""
    for pattern in _PHRASES:
        matches = list(pattern.finditer(text))
        if matches:
            answer = _clean(matches[-1].group(1))
            if answer:
                return answer
    return None


def last_number(text: str) -> str | None:
    """The last number in the text, without thousands separators."""
    matches = _NUMBER.findall(text)
    return matches[-1].replace(",", "") if matches else None


def extract_answer(text: str) -> str | None:
    """The final answer of a solution: `\\boxed{}`, else an answer phrase, else the last number."""
    return extract_boxed(text) or extract_phrase(text) or last_number(text)


def _parses(text: str) -> list[list]:
    """math-verify's readings of an answer: bare LaTeX wrapped in $...$ first, then as is."""
    from math_verify import parse

    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    text = text.strip()
    if not text:
        return []
    readings = []
    if "$" not in text and "\\boxed" not in text:
        readings.append(parse(f"${text}$", parsing_timeout=timeout))
    readings.append(parse(text, parsing_timeout=timeout))
    return [r for r in readings if r]


def _verify(gold: list, pred: list) -> bool:
    from math_verify import verify

    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    return bool(verify(gold, pred, timeout_seconds=timeout))


def answers_equivalent(gold: str, predicted: str) -> bool:
    """Whether `predicted` states the same value as `gold`, decided by math-verify.

    The order matters as in math-verify (`gold` is the reference). Either side may be a bare
    answer (`1/2`, `\\frac{1}{2}`) or a text that math-verify can extract an answer from.
    """
    golds = _parses(gold)
    if not golds:
        return False
    preds = _parses(predicted)
    return any(_verify(g, p) for g in golds for p in preds)


def same_answer(a: str, b: str) -> bool:
    """Symmetric equivalence of two candidate answers (for voting)."""
    return answers_equivalent(a, b) or answers_equivalent(b, a)
