import pytest

from ponder.prm.dataset import StepRecord
from ponder.prm.evaluate import evaluate, prm_weighted_vote
from ponder.prm.metrics import roc_auc
from ponder.verifiers import Verdict, get_verifier


def test_roc_auc_with_ties_and_one_class():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert roc_auc([0.2, 0.3], [True, True]) is None


def _rec(task, sample, answer, correct, steps=("s1", "s2"), values=None, rollouts=2):
    values = values or [1.0 if correct else 0.0] * len(steps)
    return StepRecord(
        task_id=task,
        prompt=f"problem {task}",
        sample=sample,
        steps=list(steps),
        values=list(values),
        correct=correct,
        answer=answer,
        rollouts=rollouts,
        text="\n".join(steps) + f"\nThe answer is {answer}.",
    )


class OracleishPRM:
    """Scores steps from a hint in the step text (`ok` good, anything else bad)."""

    name = "fake-prm"

    async def verify(self, task, candidates):
        out = []
        for c in candidates:
            steps = [0.9 if "ok" in s else 0.2 for s in c.steps]
            out.append(Verdict(score=min(steps), step_scores=steps))
        return out


async def test_selection_accuracy_prm_vs_majority():
    # Task a: the majority answer (7) is wrong; the PRM's favourite (5) is right.
    # Task b: both pick the right answer.
    records = [
        _rec("a", 0, "7", False, steps=("bad", "bad")),
        _rec("a", 1, "7", False, steps=("ok", "bad"), values=[0.5, 0.0]),
        _rec("a", 2, "5", True, steps=("ok", "ok")),
        _rec("b", 0, "3", True, steps=("ok", "ok")),
        _rec("b", 1, "3", True, steps=("ok", "bad"), values=[1.0, 0.0]),
        _rec("b", 2, "4", False, steps=("bad", "bad")),
    ]
    report = await evaluate(
        records,
        {"majority": get_verifier("majority"), "prm": OracleishPRM()},
        aggregations=("min", "last"),
    )
    assert report.tasks == 2 and report.n == 3 and report.oracle == 1.0
    assert report.mean_single == pytest.approx((1 / 3 + 2 / 3) / 2)
    by = {m.method: m for m in report.methods}
    assert by["majority"].accuracy == 0.5
    assert by["prm/min"].accuracy == 1.0
    assert by["prm/min"].step_auc == pytest.approx(
        1.0
    )  # 'ok' steps are exactly the labelled-good ones
    assert by["prm/last"].accuracy == 1.0
    assert "prm/min+vote" in by and "majority+vote" not in by


def test_weighted_vote_sums_scores_per_answer():
    recs = [_rec("t", 0, "1", False), _rec("t", 1, "2", True), _rec("t", 2, "2", True)]
    assert prm_weighted_vote(recs, [0.9, 0.5, 0.6]) == 2  # answer 2 totals 1.1 > 0.9


async def test_prm_verifier_scores_the_recorded_steps():
    import ponder.verifiers.prm  # noqa: F401  registers "prm"

    class Rule:
        name = "rule"

        async def score(self, requests):
            return [[0.9 if "ok" in s else 0.1 for s in r.steps] for r in requests]

    recs = [
        _rec("t", 0, "1", False, steps=("ok one", "bad two"), values=[1.0, 0.0]),
        _rec("t", 1, "2", True, steps=("ok", "ok")),
    ]
    for r in recs:
        r.text = "\n\n".join(r.steps)  # the sampled text, with blank lines between steps
    report = await evaluate(
        recs, {"prm": get_verifier("prm", scorer=Rule())}, aggregations=("min",)
    )
    [prm, _vote] = report.methods
    assert prm.method == "prm/min" and prm.accuracy == 1.0 and prm.step_auc == pytest.approx(1.0)
