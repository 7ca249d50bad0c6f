"""Malformed model output becomes failed nodes with the reason; the run still finishes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ponder.agents.parsing import extract_code
from ponder.errors import OutputParseError
from ponder.search import known_strategies
from tests.search.conftest import InstantSandbox, run
from tests.search.scripted import Responder, code_task, math_task


@pytest.mark.parametrize("strategy", known_strategies())
async def test_unparsable_output_gives_failed_nodes_not_a_crash(strategy, tmp_path):
    result, llm = await run(
        code_task(),
        tmp_path,
        InstantSandbox(),
        strategy,
        Responder(garbage=True),
        budget={"tokens": None, "llm_calls": 12},
    )
    assert llm.calls
    tree = json.loads((Path(result.run_dir) / "tree.json").read_text())
    nodes = [n for n in tree["graph"]["nodes"] if n["kind"] != "root"]
    assert nodes and all(n["status"] == "failed" and n["parse_error"] for n in nodes)
    assert result.solution is None and result.candidate_id is None
    assert (Path(result.run_dir) / "report.html").is_file()


async def test_math_without_an_answer_is_a_failed_candidate(tmp_path):
    result, _ = await run(math_task(), tmp_path, None, "greedy", Responder(garbage=True))
    tree = json.loads((Path(result.run_dir) / "tree.json").read_text())
    (cand,) = [n for n in tree["graph"]["nodes"] if n["kind"] == "candidate"]
    assert "no final answer" in cand["parse_error"] and cand["status"] == "failed"


def test_parse_error_names_what_is_missing():
    with pytest.raises(OutputParseError, match="entry point 'add'"):
        extract_code("```python\ndef sub(a, b):\n    return a - b\n```", "add")
