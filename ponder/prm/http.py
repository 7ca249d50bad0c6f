"""Client for a vLLM server running a PRM in pooling mode (`POST /pooling`, e.g. Qwen2.5-Math-PRM-7B).

vLLM's pooling API: request `{"model", "input": [text, ...]}` (or `"messages"` for one chat);
response `{"data": [{"index", "object": "pooling", "data": [[p_bad, p_good], ...]}], "usage"}`
with one row per step-tag token (Qwen2.5-Math-PRM: `<extra_0>`, a 2-class head).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from ponder.errors import ConfigError, LLMConnectionError, ModelError
from ponder.prm.base import ScoreRequest, check_scores, register_scorer

QWEN_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
QWEN_TEMPLATE = (
    "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n"
    "<|im_start|>assistant\n{steps}<|im_end|><|endoftext|>"
)


def render_text(
    request: ScoreRequest, step_tag: str, system: str = QWEN_SYSTEM, template: str = QWEN_TEMPLATE
) -> str:
    """The PRM input as text: each step followed by the step tag (Qwen2.5-Math-PRM's layout)."""
    steps = "".join(s + step_tag for s in request.steps)
    return template.format(system=system, prompt=request.prompt, steps=steps)


def render_messages(request: ScoreRequest, step_tag: str, system: str = QWEN_SYSTEM) -> list[dict]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": request.prompt},
        {"role": "assistant", "content": "".join(s + step_tag for s in request.steps)},
    ]


def step_probabilities(rows: Any, positive_index: int = 1) -> list[float]:
    """One P(good) per step from a pooling item's `data`: 2-class rows or bare scores."""
    if isinstance(rows, str):
        raise ModelError(
            "the PRM server returned base64-encoded pooling data",
            fix="request encoding_format='float'",
        )
    out = []
    for row in rows:
        out.append(
            float(
                row[positive_index]
                if isinstance(row, list) and len(row) > 1
                else (row[0] if isinstance(row, list) else row)
            )
        )
    return out


class HttpScorer:
    """Scores steps on a vLLM (or compatible) pooling server; the production PRM path."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        mode: str = "text",
        step_tag: str = "<extra_0>",
        system: str = QWEN_SYSTEM,
        template: str = QWEN_TEMPLATE,
        positive_index: int = 1,
        task: str | None = None,
        timeout_s: float = 120.0,
        max_batch: int = 64,
        api_key: str | None = None,
    ) -> None:
        if mode not in ("text", "chat"):
            raise ConfigError(
                f"unknown http PRM mode {mode!r}", fix="use mode='text' or mode='chat'"
            )
        base = url.rstrip("/")
        self.base = base[: -len("/v1")] if base.endswith("/v1") else base
        self.model, self.mode, self.step_tag = model, mode, step_tag
        self.system, self.template, self.positive_index = system, template, positive_index
        self.task, self.timeout_s, self.max_batch = task, timeout_s, max_batch
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.name = f"http:{self.base}"

    async def _post(self, client: httpx.AsyncClient, body: dict) -> dict:
        try:
            resp = await client.post(f"{self.base}/pooling", json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise LLMConnectionError(
                f"cannot reach the PRM server at {self.base}: {exc}",
                fix="start it (e.g. `vllm serve Qwen/Qwen2.5-Math-PRM-7B` or `ponder prm serve DIR`) "
                "and check --prm-url",
            ) from exc
        if resp.status_code != 200:
            raise ModelError(
                f"PRM server {self.base}/pooling answered {resp.status_code}: {resp.text[:300]}",
                fix="check the model name and that the server runs a reward model in pooling mode",
            )
        return resp.json()

    async def _model_name(self, client: httpx.AsyncClient) -> str:
        if self.model is None:
            try:
                resp = await client.get(f"{self.base}/v1/models", headers=self.headers)
                self.model = resp.json()["data"][0]["id"]
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                raise LLMConnectionError(
                    f"cannot list models at {self.base}/v1/models: {exc}", fix="pass the model name"
                ) from exc
        return self.model

    def _body(self, model: str, payload: dict) -> dict:
        body = {"model": model, "encoding_format": "float", **payload}
        return body | ({"task": self.task} if self.task else {})

    async def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        requests = list(requests)
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            model = await self._model_name(client)
            if self.mode == "chat":
                bodies = [
                    self._body(model, {"messages": render_messages(r, self.step_tag, self.system)})
                    for r in requests
                ]
                responses = await asyncio.gather(*(self._post(client, b) for b in bodies))
                items = [resp["data"][0] for resp in responses]
            else:
                items = []
                for start in range(0, len(requests), self.max_batch):
                    chunk = requests[start : start + self.max_batch]
                    texts = [
                        render_text(r, self.step_tag, self.system, self.template) for r in chunk
                    ]
                    resp = await self._post(client, self._body(model, {"input": texts}))
                    items += sorted(resp["data"], key=lambda d: d["index"])
        scores = [step_probabilities(item["data"], self.positive_index) for item in items]
        if len(scores) != len(requests):
            raise ModelError(
                f"PRM server returned {len(scores)} results for {len(requests)} inputs",
                fix="check the server",
            )
        check_scores(self.name, requests, scores)
        return scores


@register_scorer("http")
def open_http(url: str, **options: Any) -> HttpScorer:
    return HttpScorer(url, **options)
