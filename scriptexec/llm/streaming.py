"""What the HTTP providers share: retries with backoff, the per-model lock, streaming with
a progress count, and cancellation between chunks.

A provider only says how to stream one reply (`_stream`) and how to ask for the model's
digest (`_fetch_digest`); it sorts failures into `Transient` (worth another attempt) and
LLMError (not: the server is not running, the model is missing, the request is wrong).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from scriptexec.errors import LLMError
from scriptexec.llm.base import (
    ENV_OVERRIDES,
    Cancelled,
    GeneratorSettings,
    Message,
    cached_digest,
)
from scriptexec.llm.lock import model_lock

if TYPE_CHECKING:
    from scriptexec.project import Project

T = TypeVar("T")


def one_line(text: str, limit: int = 200) -> str:
    """Server text (an error body, a reason) squeezed onto one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class Transient(Exception):
    """One attempt failed in a way the next may not: a timeout, a 5xx, a dropped connection,
    a garbled response. The message is a short reason, e.g. "no reply within 120s"."""


class StreamingProvider(ABC):
    kind: str  # "ollama", "openai": used in messages and digest cache keys

    # The client's own variable for the server's URL (OLLAMA_HOST, OPENAI_BASE_URL).
    client_host_env: str

    def __init__(
        self,
        settings: GeneratorSettings,
        project: Project,
        host: str,
        sources: Mapping[str, str],
    ) -> None:
        self.settings = settings
        self.host = host  # as shown to users and used in lock and cache keys
        self._sources = dict(sources)  # setting -> where its value came from, for messages
        self._state_dir = project.state_dir

    def describe(self) -> str:
        return f"{self.kind} model {self.settings.model!r} at {self.host}"

    def origin(self, setting: str) -> str:
        """Where a setting's value came from: "generator.model", "SCRIPTEXEC_LLM_MODEL"..."""
        return self._sources.get(setting) or f"generator.{setting}"

    def where_to_point(self) -> str:
        """What to change to reach the server elsewhere, named after where its URL came
        from: an override beats generator.host, so editing the spec would not help."""
        source = self.origin("host")
        if source in ENV_OVERRIDES["host"]:
            return f"{source} (it overrides generator.host)"
        if source == "the llm_host option":
            return source
        return f"generator.host or {self.client_host_env}"

    def model_digest(self) -> str:
        key = (self.kind, self.host, self.settings.model)
        return cached_digest(key, lambda: self._retrying(self._fetch_digest, threading.Event()))

    def chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        cancel: threading.Event | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> str:
        event = cancel if cancel is not None else threading.Event()

        def attempt() -> str:
            with model_lock(self._state_dir, self.host, self.settings.model, event):
                return self._receive(messages, schema, event, on_progress)

        return self._retrying(attempt, event)

    @abstractmethod
    def _stream(
        self, messages: list[Message], schema: dict[str, Any] | None
    ) -> Generator[str, None, None]:
        """Send one request; yield the reply's non-empty text pieces as they arrive.

        Raise Transient or LLMError. Closing the generator must close the connection.
        """

    @abstractmethod
    def _fetch_digest(self) -> str:
        """Ask the server for the model's digest (LLMError if the model is missing)."""

    def _receive(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        cancel: threading.Event,
        on_progress: Callable[[int], None] | None,
    ) -> str:
        parts: list[str] = []
        pieces = self._stream(messages, schema)
        try:
            for piece in pieces:
                if cancel.is_set():
                    break
                parts.append(piece)
                if on_progress is not None:
                    on_progress(len(parts))
        finally:
            pieces.close()  # an abandoned stream must not keep the model busy
        if cancel.is_set():
            raise Cancelled(f"cancelled: request to {self.describe()}")
        return "".join(parts)

    def _retrying(self, attempt: Callable[[], T], cancel: threading.Event) -> T:
        """Run `attempt` up to max_attempts times, backing off exponentially on Transient."""
        tries = self.settings.max_attempts
        reasons: list[str] = []
        for number in range(1, tries + 1):
            if cancel.is_set():
                raise Cancelled(f"cancelled: request to {self.describe()}")
            try:
                return attempt()
            except Transient as exc:
                reasons.append(str(exc))
            delay = self.settings.backoff * 2 ** (number - 1)
            if number < tries and cancel.wait(delay):
                raise Cancelled(f"cancelled: request to {self.describe()}")
        raise LLMError(
            f"{self.describe()} failed {tries} time(s): {'; '.join(reasons)}"
            f" (generator.timeout is {self.settings.timeout:g}s,"
            f" generator.max_attempts is {tries})"
        )
