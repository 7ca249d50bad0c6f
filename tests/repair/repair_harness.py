"""`ponder repair` in its own process for the kill -9 test:
`repair_harness.py new|resume RUN_DIR CALLS CACHE`.

The model is scripted by prompt (so a resumed process answers as the first one would), and
each generated call is logged once its answer is stored in the response cache, as the solve
resume harness does (`tests/search/resume_harness.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ponder.llm  # noqa: E402
from ponder.cli import app  # noqa: E402
from ponder.llm.client import ModelClient  # noqa: E402
from ponder.llm.scripted import ScriptedLLM  # noqa: E402
from tests.repair.conftest import SCENARIOS  # noqa: E402
from tests.repair.test_repair_e2e import FIX_QUERY, FIX_STORE  # noqa: E402
from tests.search.resume_harness import CountingCache  # noqa: E402


def reply(messages, params) -> list[str]:
    text = messages[-1]["content"]
    if "Which file most likely contains the bug" in text:
        answer = ""
    elif "Score: N" in text:
        answer = "Lookups still differ.\nScore: 3"
    elif "An earlier attempt made this change" in text:
        answer = FIX_QUERY  # a revision of the partial fix completes it
    else:
        answer = FIX_STORE  # from the root: the partial fix
    return [answer] * params.n


def main() -> None:
    mode, run_dir, calls, cache = sys.argv[1:5]
    model = ModelClient(ScriptedLLM(reply), CountingCache(Path(cache), Path(calls)))
    ponder.llm.open_model = lambda spec, **kw: model
    if mode == "new":
        args = ["repair", str(SCENARIOS / "two_file_sku"), "--strategy", "mcts"]
        args += ["--sandbox", "local", "--out", run_dir]
    else:
        args = ["repair", "--resume", run_dir]
    app(args, standalone_mode=False)


if __name__ == "__main__":
    main()
