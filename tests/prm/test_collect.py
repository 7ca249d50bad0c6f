import pytest

from ponder.errors import ConfigError
from ponder.llm.client import ModelClient
from ponder.llm.scripted import ScriptedLLM
from ponder.prm.collect import CollectConfig, Collector
from ponder.prm.dataset import read_records
from ponder.task import HiddenPart, Task, VisibleTask

TASK = Task(
    visible=VisibleTask(id="t1", kind="math", prompt="Tom has 3 apples and gets 2 more. How many?"),
    hidden=HiddenPart(reference_answer="5"),
)
GOOD = "Step 1: He has 3.\nStep 2: 3 + 2 = 5.\nThe answer is 5."
BAD = "Step 1: He has 3.\nStep 2: 3 + 3 = 6 (wrong).\nThe answer is 6."


def policy(messages, params):
    """Solutions: GOOD, BAD alternating. Continuations succeed unless the prefix went wrong."""
    user = messages[-1]["content"]
    if "Here is the beginning of a solution" not in user:
        return [GOOD if i % 2 == 0 else BAD for i in range(params.n)]
    prefix = user.split("beginning of a solution:\n", 1)[1]
    return ["The answer is 6." if "wrong" in prefix else "So 5 total.\nThe answer is 5."] * params.n


async def test_mc_labels_values_progress_and_resume(tmp_path):
    out = tmp_path / "prm.jsonl"
    llm = ScriptedLLM(policy)
    collector = Collector(ModelClient(llm), CollectConfig(samples=2, rollouts=3, max_steps=6))
    recs = await collector.run([TASK], out)
    good, bad = recs
    assert good.steps == ["Step 1: He has 3.", "Step 2: 3 + 2 = 5.\nThe answer is 5."]
    assert good.values == [1.0, 1.0] and good.correct and good.answer == "5"
    assert bad.values == [1.0, 0.0] and not bad.correct
    assert bad.prior == 0.5 and bad.progress == [0.5, -1.0] and bad.labels == [True, False]
    rollout_calls = [p for m, p in llm.calls if "beginning of a solution" in m[-1]["content"]]
    assert [p.n for p in rollout_calls] == [
        3,
        3,
    ]  # step 1 of each sample; the last step is the outcome
    assert [r.values for r in read_records(out)] == [[1.0, 1.0], [1.0, 0.0]]
    calls = len(llm.calls)
    assert await collector.run([TASK], out) == []  # already collected: skipped
    assert len(llm.calls) == calls


async def test_outcome_only_and_step_cap(tmp_path):
    long = "\n".join(f"Step {i}: x" for i in range(1, 9)) + "\nThe answer is 5."
    collector = Collector(
        ModelClient(ScriptedLLM([long])), CollectConfig(samples=1, rollouts=0, max_steps=3)
    )
    [rec] = await collector.run([TASK], tmp_path / "o.jsonl")
    assert len(rec.steps) == 3 and rec.steps[-1].startswith("Step 3: x\nStep 4")
    assert rec.values == [1.0, 1.0, 1.0] and rec.rollouts == 0


async def test_ungradeable_task_is_refused(tmp_path):
    task = Task(visible=VisibleTask(id="x", kind="math", prompt="?"))
    with pytest.raises(ConfigError, match="no gradeable final answer"):
        await Collector(ModelClient(ScriptedLLM(["1"])), CollectConfig()).run(
            [task], tmp_path / "x.jsonl"
        )


def test_bad_config():
    with pytest.raises(ConfigError, match="samples=0"):
        CollectConfig(samples=0)
