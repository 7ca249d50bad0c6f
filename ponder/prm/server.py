"""Serve any step scorer over vLLM's pooling API (`POST /pooling`, `GET /v1/models`) on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ponder.prm.base import ScoreRequest, StepScorer
from ponder.prm.http import QWEN_TEMPLATE

_USER, _ASSISTANT, _END = "<|im_start|>user\n", "<|im_start|>assistant\n", "<|im_end|>"


def parse_text(text: str, step_tag: str) -> ScoreRequest:
    """Invert `render_text` for the Qwen layout: the user turn is the prompt, tags end steps."""
    if _USER not in text or _ASSISTANT not in text:
        raise ValueError("input is not in the Qwen2.5-Math-PRM chat layout")
    prompt = text.split(_USER, 1)[1].split(_END, 1)[0]
    body = text.split(_ASSISTANT, 1)[1].split(_END, 1)[0]
    return ScoreRequest(prompt, tuple(body.split(step_tag)[:-1]) or (body,))


def parse_messages(messages: list[dict], step_tag: str) -> ScoreRequest:
    by_role = {m["role"]: m["content"] for m in messages}
    steps = by_role.get("assistant", "").split(step_tag)[:-1]
    return ScoreRequest(by_role.get("user", ""), tuple(steps) or (by_role.get("assistant", ""),))


class PoolingServer:
    """A threaded HTTP server answering like `vllm serve <PRM>`; `with PoolingServer(...) as s: s.url`."""

    def __init__(
        self,
        scorer: StepScorer,
        model_name: str = "ponder-prm",
        host: str = "127.0.0.1",
        port: int = 0,
        step_tag: str = "<extra_0>",
    ) -> None:
        self.scorer, self.model_name, self.step_tag = scorer, model_name, step_tag
        self._lock = threading.Lock()
        self.requests_served = 0
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _score(self, reqs: list[ScoreRequest]) -> list[list[float]]:
        with self._lock:  # one forward pass at a time on the shared model
            self.requests_served += 1
            return asyncio.run(self.scorer.score(reqs))

    def respond(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("model") not in (None, self.model_name):
            return 404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}}
        try:
            if "messages" in body:
                reqs = [parse_messages(body["messages"], self.step_tag)]
            else:
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
                reqs = [parse_text(t, self.step_tag) for t in inputs]
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"error": {"message": f"bad pooling input: {exc}"}}
        scores = self._score(reqs)
        data = [
            {"index": i, "object": "pooling", "data": [[1.0 - p, p] for p in row]}
            for i, row in enumerate(scores)
        ]
        tokens = sum(len(QWEN_TEMPLATE) + sum(len(s) for s in r.steps) for r in reqs) // 4
        return 200, {
            "id": f"pool-{uuid.uuid4().hex}",
            "object": "list",
            "created": int(time.time()),
            "model": self.model_name,
            "data": data,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") == "/v1/models":
                    self._send(
                        200,
                        {"object": "list", "data": [{"id": server.model_name, "object": "model"}]},
                    )
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                if self.path.rstrip("/") != "/pooling":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                except json.JSONDecodeError as exc:
                    self._send(400, {"error": {"message": f"invalid JSON: {exc}"}})
                    return
                self._send(*server.respond(body))

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def start(self) -> PoolingServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> PoolingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
