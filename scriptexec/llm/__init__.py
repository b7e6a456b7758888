"""The LLM layer: providers (Ollama, OpenAI-compatible servers, none), structured output,
code extraction and prompts.

Only `base` is light enough to import on start-up; the rest load when an LLM stage runs:

    provider = make_provider(spec.generator, project)        # base
    digest = provider.model_digest()                         # part of the stage key
    messages, prompt_digest = prompt_messages(project, "analyze", ...)   # prompts
    analysis = ask_json(provider, messages, schema, attempts=3)          # structured
    code = extract_code(provider.chat(messages, cancel=ctx.cancel))      # code
"""

from scriptexec.llm.base import (
    Cancelled,
    GeneratorSettings,
    Provider,
    clear_caches,
    make_provider,
)

__all__ = ["Cancelled", "GeneratorSettings", "Provider", "clear_caches", "make_provider"]
