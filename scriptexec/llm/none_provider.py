"""`generator.provider: none`: no LLM. Any request fails and says what to configure.

Specs that state their logic precisely build without ever calling a provider; this one
only answers when a spec needs an LLM after all (prose steps, a description without
formulas). No silent fallback: the build stops with what to set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NoReturn

from scriptexec.errors import LLMError
from scriptexec.llm.base import DEFAULT_MODEL, GeneratorSettings, Message


class NoneProvider:
    def __init__(self, settings: GeneratorSettings) -> None:
        self.settings = settings

    def describe(self) -> str:
        return "no LLM (generator.provider: none)"

    def model_digest(self) -> str:
        self._refuse()

    def chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        cancel: threading.Event | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> str:
        self._refuse()

    def _refuse(self) -> NoReturn:
        model = self.settings.model or DEFAULT_MODEL
        raise LLMError(
            "this spec needs an LLM (it has prose an LLM must turn into code), but "
            "generator.provider is none; set generator.provider: ollama with "
            f"generator.model: {model!r} (run `ollama serve` and `ollama pull {model}`), "
            "or generator.provider: openai with generator.host or OPENAI_BASE_URL set to an "
            "OpenAI-compatible server (e.g. http://127.0.0.1:1234/v1)"
        )
