"""What the fake LLM servers share: a real HTTP server on 127.0.0.1 in a thread, scripted
replies, a model registry, fault injection, a request log and an overlap counter.

Not a mock: the real `ollama` client and scriptexec's urllib code talk to it over TCP,
so framing, status codes, chunked streams and dropped connections are real.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "qwen2.5-coder:7b"

# Faults a test can inject into the next matching request (see FakeServer.fail_next).
FAULTS = (
    "http500",  # a 500 with an error body
    "slow",  # no answer until slow_seconds pass (or the server stops): beyond any client timeout
    "malformed",  # a response that is not valid JSON / NDJSON / SSE data
    "bad_json",  # a well-formed response whose reply text is not JSON
    "schema_violation",  # a well-formed response whose reply is JSON matching no schema of ours
    "drop",  # half the stream, then the connection is cut
    "not_found",  # a 404: the model does not exist
)

Reply = str | Callable[[dict[str, Any]], str]  # a text, or a function of the request body


@dataclass
class Call:
    """One request the server received."""

    method: str
    path: str
    body: Any  # the parsed JSON body, or None
    headers: dict[str, str] = field(default_factory=dict)


def minimal_instance(schema: dict[str, Any]) -> Any:
    """The smallest value valid under a (simple) JSON Schema: a default structured reply."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return minimal_instance(schema[combinator][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            key: minimal_instance(properties.get(key, {})) for key in schema.get("required", [])
        }
    if kind == "array":
        return [minimal_instance(schema.get("items", {}))] * schema.get("minItems", 0)
    if kind == "string":
        return "x" * schema.get("minLength", 0)
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a "slow" handler must not hold up stop()
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that timed out or cancelled hung up: expected, not noise
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as the real servers
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; the request log is FakeServer.calls

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fake = self.server.fake
        fake._record(Call(method, self.path, body, dict(self.headers.items())))
        try:
            fake.route(self, method, self.path.split("?", 1)[0], body or {})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout, a cancel)

    # -- writing helpers for the fakes --

    def send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, status: int, text: str, content_type: str = "text/plain") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-response, as a crashed server or a broken network does."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


class FakeServer:
    """Base of FakeOllama and FakeOpenAI. Use as a context manager, or start()/stop()."""

    generation_paths: tuple[str, ...] = ()  # where replies, faults and overlaps apply

    def __init__(
        self,
        models: dict[str, str] | None = None,
        *,
        chunk_size: int = 4,
        slow_seconds: float = 30.0,
    ) -> None:
        self.models: dict[str, str] = dict(models or {DEFAULT_MODEL: "a" * 64})  # name -> digest
        self.chunk_size = chunk_size  # reply characters per streamed chunk ("token")
        self.chunk_delay = 0.0  # seconds between streamed chunks: a stream that takes a while
        self.slow_seconds = slow_seconds
        self.default_reply: Callable[[dict[str, Any]], str] = self._default_reply
        self.calls: list[Call] = []
        self.active = 0  # generation requests being answered right now
        self.max_active = 0  # the most at once so far: >1 means requests overlapped
        self._replies: deque[Reply] = deque()
        self._faults: deque[tuple[str | None, str]] = deque()
        self._gate: threading.Event | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the fake server is not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes "slow" handlers and held requests
        if self._gate is not None:
            self._gate.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests script --

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next generation requests, in order; then default_reply."""
        with self._lock:
            self._replies.extend(replies)

    def fail_next(self, *faults: str, path: str | None = None) -> None:
        """Make the next requests fail, one fault each, in order (see FAULTS).

        `path` None: generation requests (chat, generate); else requests to that path.
        """
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self._lock:
            self._faults.extend((path, fault) for fault in faults)

    def set_digest(self, model: str, digest: str) -> None:
        """Add `model`, or give it a new digest: a new build pulled under the same tag."""
        self.models[model] = digest

    def remove_model(self, model: str) -> None:
        self.models.pop(model, None)

    def count(self, path: str) -> int:
        """How many requests reached `path` (query string ignored)."""
        return sum(1 for call in self.calls if call.path.split("?", 1)[0] == path)

    @property
    def generation_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.split("?", 1)[0] in self.generation_paths]

    def hold(self) -> None:
        """Hold every generation request inside the server until release()."""
        self._gate = threading.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()

    def wait_active(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until `count` generation requests are inside the server at once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.active >= count:
                return True
            time.sleep(0.005)
        return False

    # -- for the subclasses --

    def route(self, h: _Handler, method: str, path: str, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def has_model(self, model: str) -> bool:
        return model in self.models

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            for index, (where, fault) in enumerate(self._faults):
                matches = path in self.generation_paths if where is None else where == path
                if matches:
                    del self._faults[index]
                    return fault
        return None

    def sleep_slow(self, h: _Handler) -> None:
        self._stopping.wait(self.slow_seconds)
        h.close_connection = True

    def reply_for(self, body: dict[str, Any], fault: str | None) -> str:
        """The reply text: by fault, else the next scripted one, else default_reply.

        Faults that fail the request (500, drop, ...) peek at the queue without taking,
        so the retry gets the scripted reply.
        """
        if fault == "bad_json":
            return "this is not JSON {"
        if fault == "schema_violation":
            return '{"unexpected": true}'
        with self._lock:
            take = fault is None
            reply = (
                (self._replies.popleft() if take else self._replies[0]) if self._replies else None
            )
        if reply is None:
            return self.default_reply(body)
        return reply(body) if callable(reply) else reply

    def pieces(self, text: str) -> list[str]:
        size = max(1, self.chunk_size)
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]

    def pause_between_chunks(self) -> None:
        if self.chunk_delay:
            self._stopping.wait(self.chunk_delay)

    @contextmanager
    def generating(self) -> Iterator[None]:
        """Count this request as active (for overlap checks); wait at the gate if held."""
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            gate = self._gate
        try:
            if gate is not None:
                gate.wait()
            yield
        finally:
            with self._lock:
                self.active -= 1

    def request_schema(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def _default_reply(self, body: dict[str, Any]) -> str:
        schema = self.request_schema(body)
        return json.dumps(minimal_instance(schema)) if schema else "ok"

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
