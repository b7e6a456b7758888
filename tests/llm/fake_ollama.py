"""A small Ollama API server of the tests' own, spoken to by the real `ollama` client.

Endpoints: POST /api/chat and /api/generate (NDJSON stream, or one JSON object with
"stream": false), GET /api/tags, POST /api/show, GET /api/version, GET /api/ps.
Field names follow ollama-python's _types.py (ChatResponse, GenerateResponse,
ListResponse, ShowResponse) and the server's own answers.

    with FakeOllama() as server:
        server.script("first reply", lambda request: "second")
        server.fail_next("http500")
        ... make_provider(server.generator(), project) ...
        assert server.count("/api/chat") == 2
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .fake_server import DEFAULT_MODEL, FakeServer, _Handler

VERSION = "0.6.5"


def _full_name(model: str) -> str:
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class FakeOllama(FakeServer):
    generation_paths = ("/api/chat", "/api/generate")

    def generator(self, **overrides: Any) -> dict[str, Any]:
        """A spec's `generator` section pointing at this server (tight timeouts for tests)."""
        section: dict[str, Any] = {
            "provider": "ollama",
            "model": DEFAULT_MODEL,
            "host": self.url,
            "temperature": 0,
            "seed": 42,
            "timeout": 5,
            "max_attempts": 3,
        }
        section.update(overrides)
        return section

    def has_model(self, model: str) -> bool:
        return _full_name(model) in {_full_name(name) for name in self.models}

    def request_schema(self, body: dict[str, Any]) -> dict[str, Any] | None:
        schema = body.get("format")
        return schema if isinstance(schema, dict) else None

    # -- routes --

    def route(self, h: _Handler, method: str, path: str, body: dict[str, Any]) -> None:
        fault = self.take_fault(path)
        if fault == "slow":
            return self.sleep_slow(h)
        if fault == "http500":
            return h.send_json(500, {"error": "an injected server error"})
        if (method, path) == ("GET", "/api/version"):
            return h.send_json(200, {"version": VERSION})
        if (method, path) == ("GET", "/api/tags"):
            return h.send_json(200, {"models": [self._entry(m) for m in self.models]})
        if (method, path) == ("GET", "/api/ps"):
            return h.send_json(200, {"models": []})
        if (method, path) == ("POST", "/api/show"):
            return self._show(h, body, fault)
        if method == "POST" and path in self.generation_paths:
            return self._generate(h, path, body, fault)
        h.send_text(404, "404 page not found")  # what Go's mux answers

    def _entry(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": "2025-01-02T03:04:05.123456-07:00",
            "size": 4683087332,
            "digest": self.models[name],
            "details": self._details(),
        }

    @staticmethod
    def _details() -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "7.6B",
            "quantization_level": "Q4_K_M",
        }

    def _show(self, h: _Handler, body: dict[str, Any], fault: str | None) -> None:
        model = str(body.get("model") or body.get("name") or "")
        if fault == "not_found" or not self.has_model(model):
            return h.send_json(404, {"error": f"model '{model}' not found"})
        digest = next(d for n, d in self.models.items() if _full_name(n) == _full_name(model))
        h.send_json(
            200,
            {
                "license": "Apache License 2.0",
                "modelfile": f"FROM /root/.ollama/models/blobs/sha256-{digest}\n",
                "parameters": 'stop "<|im_end|>"',
                "template": "{{ .Prompt }}",
                "details": self._details(),
                "model_info": {"general.architecture": "qwen2"},
                "capabilities": ["completion"],
                "modified_at": "2025-01-02T03:04:05.123456-07:00",
            },
        )

    def _generate(self, h: _Handler, path: str, body: dict[str, Any], fault: str | None) -> None:
        model = str(body.get("model", ""))
        if fault == "not_found" or not self.has_model(model):
            return h.send_json(404, {"error": f'model "{model}" not found, try pulling it first'})
        text = self.reply_for(body, fault)
        key = "message" if path == "/api/chat" else "response"

        def part(content: str, done: bool) -> dict[str, Any]:
            piece: dict[str, Any] = {"model": model, "created_at": _now()}
            piece[key] = {"role": "assistant", "content": content} if key == "message" else content
            piece["done"] = done
            if done:
                piece.update(
                    done_reason="stop",
                    total_duration=1000,
                    load_duration=100,
                    prompt_eval_count=10,
                    prompt_eval_duration=100,
                    eval_count=len(self.pieces(text)),
                    eval_duration=500,
                )
                if key == "response":
                    piece["context"] = [1, 2, 3]
            return piece

        with self.generating():
            if body.get("stream", True) is False:  # Ollama streams unless told not to
                if fault == "malformed":
                    return h.send_text(200, '{"model": "' + model, "application/json")
                return h.send_json(200, part(text, True))
            h.start_chunked("application/x-ndjson")
            pieces = self.pieces(text)
            if fault == "drop":
                pieces = pieces[: max(1, len(pieces) // 2)]
            for piece in pieces:
                h.write_chunk(json.dumps(part(piece, False)).encode() + b"\n")
                self.pause_between_chunks()
            if fault == "malformed":  # a line cut short, then a clean end of the stream
                h.write_chunk(b'{"model": "' + model.encode() + b'", "message": {\n')
                return h.end_chunked()
            if fault == "drop":
                return h.cut()
            h.write_chunk(json.dumps(part("", True)).encode() + b"\n")
            h.end_chunked()
