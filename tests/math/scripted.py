"""A scripted model for program-aided math: programs and code steps chosen by the prompt."""

from __future__ import annotations

from ponder.llm.base import Message, SamplingParams


def block(code: str) -> str:
    return f"Here is the program.\n```python\n{code}\n```"


RIGHT = block("# the two numbers\na = 20\nb = 22\n# their sum\ntotal = a + b\nprint(total)")
RIGHT_OTHER = block("print(84 / 2)")  # prints 42.0: the same answer, another program
WRONG = block("# the two numbers\na = 20\nb = 23\ntotal = a + b\nprint(total)")  # 43
CRASH = block("# the two numbers\na = 20\n# oops\nb = a / 0\nprint(a + b)")
SILENT = block("total = 20 + 22")  # runs, prints nothing
PROSE = "20 + 22 = 42\nThe answer is \\boxed{42}"

STEP_GOOD = "```python\n# the two numbers\na, b = 20, 22\n```"
STEP_BAD = "```python\n# divide first\nc = a / 0\n```"
STEP_FIX = "```python\n# add them\nc = a + b\n```"


def _cycled(replies: tuple[str, ...], first: int, n: int) -> list[str]:
    """n replies from position `first` of `replies`, cycled."""
    return [replies[i % len(replies)] for i in range(first, first + n)]


class PalResponder:
    """Replies by what the prompt asks for. `programs` are the candidate replies, cycled over
    every sample of every call in order; `steps` the code steps (cycled over a call's samples);
    `prose` the replies to the prose prompt (cycled likewise)."""

    def __init__(
        self,
        programs: tuple[str, ...] = (RIGHT,),
        steps: tuple[str, ...] = (STEP_GOOD, STEP_BAD),
        prose: tuple[str, ...] = (PROSE,),
    ) -> None:
        self.programs = programs
        self.steps = steps
        self.prose = prose
        self.written = 0
        self.reasoned = 0

    def __call__(self, messages: list[Message], params: SamplingParams) -> list[str]:
        last = messages[-1]["content"]
        text = "\n".join(m["content"] for m in messages)
        if "yes or no" in text.lower():
            return ["yes"] * params.n
        if "Wrong step" in last:
            return ["Wrong step: 1\nIt divides by zero."] * params.n
        if "Rewrite step" in last:
            return [STEP_FIX] * params.n
        if "Write a corrected Python program" in last:
            return [RIGHT] * params.n
        if "one step at a time" in last:
            return [self.steps[i % len(self.steps)] for i in range(params.n)]
        if "with a short Python program" in last:
            first, self.written = self.written, self.written + params.n
            return _cycled(self.programs, first, params.n)
        if "Solve the following problem" in last:  # the prose prompt
            first, self.reasoned = self.reasoned, self.reasoned + params.n
            return _cycled(self.prose, first, params.n)
        return ["(unscripted prompt)"] * params.n
