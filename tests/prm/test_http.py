"""The http backend against a real loopback server that speaks vLLM's pooling API."""

import json
import math
import urllib.request

import pytest

from ponder.errors import ConfigError, LLMConnectionError, ModelError
from ponder.prm import ScoreRequest, open_scorer
from ponder.prm.hf import HFScorer
from ponder.prm.http import HttpScorer, render_text
from ponder.prm.server import PoolingServer, parse_text

REQS = [
    ScoreRequest("Tom has 3 apples and gets 2 more.", ("3 + 2 = 5", "The answer is 5.")),
    ScoreRequest("Ann has 4 pens.", ("4 * 2 = 8",)),
]


class RuleScorer:
    """Deterministic stand-in PRM: a step is bad iff it says 'wrong'."""

    name = "rule"

    async def score(self, requests):
        return [[0.1 if "wrong" in s else 0.9 for s in r.steps] for r in requests]


@pytest.fixture(scope="module")
def hf_server(tiny_models):
    scorer = HFScorer(tiny_models["token-classify"], device="cpu")
    with PoolingServer(scorer, model_name="tiny-prm") as server:
        yield server, scorer


async def test_http_scores_equal_in_process_scores(hf_server):
    server, scorer = hf_server
    remote = await open_scorer("http", url=server.url, model="tiny-prm").score(REQS)
    local = scorer.score_sync(REQS)
    assert [len(r) for r in remote] == [2, 1]
    for a, b in zip(remote, local, strict=True):
        assert all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(a, b, strict=True))


async def test_chat_mode_and_model_discovery():
    with PoolingServer(RuleScorer(), model_name="rule-prm") as server:
        client = HttpScorer(server.url + "/v1", mode="chat")  # /v1 suffix is tolerated
        reqs = [
            ScoreRequest("q", ("fine", "wrong here", "fine again")),
            ScoreRequest("q2", ("ok",)),
        ]
        assert await client.score(reqs) == [[0.9, 0.1, 0.9], [0.9]]
        assert client.model == "rule-prm"
        assert server.requests_served == 2  # chat mode: one request per candidate


async def test_text_mode_batches_candidates():
    with PoolingServer(RuleScorer()) as server:
        reqs = [ScoreRequest(f"q{i}", ("a", "wrong")) for i in range(5)]
        assert await HttpScorer(server.url, max_batch=2).score(reqs) == [[0.9, 0.1]] * 5
        assert server.requests_served == 3


def test_wire_format_is_vllms_pooling_response():
    with PoolingServer(RuleScorer(), model_name="m") as server:
        body = {
            "model": "m",
            "input": [render_text(REQS[0], "<extra_0>")],
            "encoding_format": "float",
        }
        req = urllib.request.Request(
            server.url + "/pooling",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        resp = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert resp["object"] == "list" and resp["model"] == "m" and "usage" in resp
    assert [(d["index"], d["object"]) for d in resp["data"]] == [(0, "pooling")]
    assert resp["data"][0]["data"] == [[pytest.approx(0.1), 0.9], [pytest.approx(0.1), 0.9]]


def test_render_and_parse_round_trip():
    text = render_text(REQS[0], "<extra_0>")
    assert "<|im_start|>assistant\n3 + 2 = 5<extra_0>The answer is 5.<extra_0><|im_end|>" in text
    assert parse_text(text, "<extra_0>") == REQS[0]


async def test_unknown_model_is_a_model_error():
    with (
        PoolingServer(RuleScorer(), model_name="right") as server,
        pytest.raises(ModelError, match="answered 404"),
    ):
        await HttpScorer(server.url, model="wrong").score(REQS)


async def test_row_count_mismatch_is_reported():
    class Short(RuleScorer):
        async def score(self, requests):
            return [[0.5] for _ in requests]

    mismatch = "returned 1 step scores for candidate 0, which has 2 steps"
    with PoolingServer(Short()) as server, pytest.raises(ModelError, match=mismatch):
        await HttpScorer(server.url).score(REQS)


async def test_no_server_is_a_connection_error():
    with PoolingServer(RuleScorer()) as server:
        url = server.url
    with pytest.raises(LLMConnectionError, match="cannot reach the PRM server") as err:
        await HttpScorer(url, model="m", timeout_s=2).score(REQS)
    assert "vllm serve" in err.value.fix


def test_bad_mode():
    with pytest.raises(ConfigError, match="unknown http PRM mode"):
        HttpScorer("http://127.0.0.1:9", mode="grpc")
