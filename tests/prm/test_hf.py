"""The hf backend on tiny random models: conventions, batching, our value head end to end."""

import math

import pytest
import torch

from ponder.errors import ConfigError, ModelError
from ponder.prm import ScoreRequest, open_scorer
from ponder.prm.dataset import StepRecord
from ponder.prm.hf import HFScorer
from ponder.prm.train import TrainConfig, train_prm
from ponder.prm.value_head import EncoderRef, load_value_head

REQS = [
    ScoreRequest("Tom has 3 apples and gets 2 more .", ("Step 1 : 3 + 2 = 5", "The answer is 5")),
    ScoreRequest("Ann has 4 pens .", ("so 4 * 2 = 8",)),
    ScoreRequest("each pen costs 2 dollars", ("add 2", "then 4", "check total", "final 6")),
]


def _close(a, b, tol=1e-4):
    return all(
        math.isclose(x, y, abs_tol=tol)
        for ra, rb in zip(a, b, strict=True)
        for x, y in zip(ra, rb, strict=True)
    )


@pytest.mark.parametrize(
    ("kind", "convention"), [("causal", "shepherd"), ("token-classify", "auto")]
)
def test_one_score_per_step_and_batching_does_not_change_scores(tiny_models, kind, convention):
    scorer = HFScorer(tiny_models[kind], convention=convention, device="cpu")
    together = scorer.score_sync(REQS)
    assert [len(r) for r in together] == [2, 1, 4]
    assert all(0.0 < s < 1.0 for row in together for s in row)
    alone = [scorer.score_sync([r])[0] for r in REQS]
    assert _close(together, alone)  # right padding + masks: a batch scores like single calls
    tight = HFScorer(tiny_models[kind], convention=convention, device="cpu", max_batch_tokens=1)
    assert _close(tight.score_sync(REQS), together)


def test_auto_detects_token_classification(tiny_models):
    assert HFScorer(tiny_models["token-classify"], device="cpu").convention_name == "token-classify"


def test_shepherd_scores_come_from_good_vs_bad_token_at_step_tags(tiny_models):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_models["causal"]
    scorer = HFScorer(path, convention="shepherd", device="cpu")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    req = REQS[0]
    text = req.prompt + " " + "".join(f"{s} ки\n" for s in req.steps)
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    tag, good, bad = (tok.convert_tokens_to_ids(t) for t in ("ки", "+", "-"))
    with torch.no_grad():
        logits = model(ids).logits[0]
    where = (ids[0] == tag).nonzero().flatten()
    expected = logits[where][:, [good, bad]].softmax(-1)[:, 0].tolist()
    assert _close(scorer.score_sync([req]), [expected])


def test_missing_step_tag_is_a_clear_error(tiny_models):
    with pytest.raises(ModelError, match="step tag '<extra_1>'"):
        HFScorer(tiny_models["token-classify"], device="cpu", step_tag="<extra_1>")


def test_unknown_convention_and_path(tiny_models, tmp_path):
    with pytest.raises(ConfigError, match="unknown PRM convention 'orm'"):
        HFScorer(tiny_models["causal"], convention="orm", device="cpu")
    with pytest.raises(ModelError, match="not a PRM directory"):
        HFScorer(tmp_path, device="cpu")


def _records(n_tasks: int) -> list[StepRecord]:
    """Synthetic data: steps that say `wrong` are bad (value 0), `right` ones good (value 1)."""
    recs = []
    words = ["apples", "pens", "dollars", "total"]
    for t in range(n_tasks):
        for s, bad_at in enumerate([None, 1, 2, 0]):
            steps = [
                f"step {k} : {words[(t + k) % 4]} "
                + ("wrong" if bad_at is not None and k >= bad_at else "right")
                for k in range(3)
            ]
            values = [0.0 if bad_at is not None and k >= bad_at else 1.0 for k in range(3)]
            recs.append(
                StepRecord(
                    task_id=f"t{t}",
                    prompt=f"problem {t} has {t % 10} apples",
                    sample=s,
                    steps=steps,
                    values=values,
                    correct=bad_at is None,
                    prior=0.25,
                    rollouts=2,
                )
            )
    return recs


def test_train_save_load_and_score_value_head(tiny_models, tmp_path):
    out = tmp_path / "prm"
    config = TrainConfig(
        encoder=str(tiny_models["base"]),
        layers=2,
        hidden=32,
        epochs=150,
        device="cpu",
        val_fraction=0.3,
        lr=3e-3,
    )
    report = train_prm(_records(24), out, config)
    assert report.val_tasks > 0 and report.train_tasks > 0
    assert report.val_step_auc is not None and report.val_step_auc > 0.9  # held-out tasks
    head, cfg = load_value_head(out)
    assert cfg.encoder == EncoderRef(path=str(tiny_models["base"]), layers=2)
    assert cfg.input_dim == 32 and cfg.train["val_step_auc"] == report.val_step_auc
    scorer = open_scorer("hf", path=out, device="cpu")
    assert scorer.convention_name == "value-head"
    assert scorer.convention.model.config.num_hidden_layers == 2
    good, bad = scorer.score_sync(
        [
            ScoreRequest(
                "problem 99 has 9 apples", ("step 0 : pens right", "step 1 : total right")
            ),
            ScoreRequest(
                "problem 99 has 9 apples", ("step 0 : pens wrong", "step 1 : total wrong")
            ),
        ]
    )
    assert min(good) > max(bad)


def test_value_head_dir_errors(tmp_path):
    with pytest.raises(ModelError, match="holds no value-head PRM"):
        load_value_head(tmp_path)


def test_train_rejects_bad_target():
    with pytest.raises(ConfigError, match="unknown PRM target 'reward'"):
        TrainConfig(encoder="x", target="reward")


def test_prompt_prefix_cache_gives_the_same_scores(tiny_models, tmp_path):
    from ponder.prm.value_head import HeadConfig, ValueHead, save_value_head

    torch.manual_seed(1)
    ref = EncoderRef(path=str(tiny_models["base"]), layers=3)
    save_value_head(tmp_path, ValueHead(32, 16), HeadConfig(encoder=ref, input_dim=32, hidden=16))
    prompt = (
        "Tom has 3 apples and Ann has 4 pens . each pen costs 2 dollars . what is the total cost ?"
    )
    reqs = [
        ScoreRequest(prompt, ("add 3 and 4", "so 7")),
        ScoreRequest(prompt, ("multiply 4 * 2 = 8", "then add the apples", "total 8 dollars")),
        ScoreRequest(prompt, ("8",)),
        ScoreRequest("a short one", ("step",)),
    ]
    shared = HFScorer(tmp_path, device="cpu")
    plain = HFScorer(tmp_path, device="cpu", share_prefix=False)
    groups = shared.batcher._groups([shared.convention.encode(r) for r in reqs])
    assert sorted(len(m) for _, m in groups) == [1, 3] and max(s for s, _ in groups) >= 16
    assert _close(shared.score_sync(reqs), plain.score_sync(reqs), tol=1e-5)
