"""The LLM layer: providers (Ollama, OpenAI-compatible servers, none), structured output,
code extraction, prompts, and progress while a model works.

Only `base` is light enough to import on start-up; the rest load when an LLM stage runs:

    generator = effective_generator(spec.canonical["generator"])  # base: + env overrides
    provider = make_provider(generator, project)             # base
    digest = provider.model_digest()                         # part of the stage key
    messages, prompt_digest = prompt_messages(project, "step", ...)      # prompts
    code = extract_code(provider.chat(messages, cancel=ctx.cancel))      # code
    answer = ask_json(provider, messages, schema, attempts=3)            # structured
"""

from scriptexec.llm.base import (
    Cancelled,
    GeneratorSettings,
    Provider,
    clear_caches,
    make_provider,
)

__all__ = ["Cancelled", "GeneratorSettings", "Provider", "clear_caches", "make_provider"]
