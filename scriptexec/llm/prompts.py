"""Prompts: Jinja2 templates under templates/prompts/, which a project may override.

The project's own templates/prompts/NAME.j2 wins over the shipped one, and so does every
file a prompt includes. Undefined variables are errors, never empty strings: a prompt that
silently lost its spec data would still get an answer, just a wrong one.

A prompt's digest covers the text of its template and of every template it includes, so
editing a prompt (or adding an override) re-runs exactly the stages that use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from scriptexec.errors import UsageError
from scriptexec.llm.base import Message

if TYPE_CHECKING:
    import jinja2

    from scriptexec.project import Project


class PromptError(UsageError):
    """A prompt template is missing, does not parse, or uses a variable it was not given."""


def render_prompt(project: Project, name: str, /, **context: Any) -> tuple[str, str]:
    """(text, template digest) of prompt `name` ("analyze", "plan", "step", "repair",
    "system") rendered with `context`."""
    import jinja2

    env = _environment(project)
    filename = _filename(name)
    try:
        text = env.get_template(filename).render(**context)
    except jinja2.TemplateError as exc:
        raise _prompt_error(project, filename, exc) from None
    return text.strip() + "\n", prompt_digest(project, name)


def prompt_digest(project: Project, name: str) -> str:
    """sha256 over the text of prompt `name` and every template it includes or extends.

    Needs no context, so a stage can compute its key without rendering.
    """
    import jinja2
    import jinja2.meta

    env = _environment(project)
    assert env.loader is not None
    sources: dict[str, str] = {}
    pending = [_filename(name)]
    while pending:
        current = pending.pop()
        if current in sources:
            continue
        try:
            source = env.loader.get_source(env, current)[0]
            referenced = jinja2.meta.find_referenced_templates(env.parse(source))
        except jinja2.TemplateError as exc:
            raise _prompt_error(project, current, exc) from None
        sources[current] = source
        pending.extend(ref for ref in referenced if ref is not None)
    canonical = json.dumps(sorted(sources.items()), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def prompt_messages(project: Project, name: str, /, **context: Any) -> tuple[list[Message], str]:
    """The chat for prompt `name`: system.j2 (given `task=name`), then NAME.j2 as the user
    message; and one digest over both templates."""
    system, system_digest = render_prompt(project, "system", task=name)
    user, user_digest = render_prompt(project, name, **context)
    digest = hashlib.sha256(f"{system_digest}\n{user_digest}".encode()).hexdigest()
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    return messages, "sha256:" + digest


def _filename(name: str) -> str:
    return name if name.endswith(".j2") else f"{name}.j2"


def _environment(project: Project) -> jinja2.Environment:
    import jinja2
    import jinja2.sandbox

    def load(name: str) -> tuple[str, str, Any]:
        path = project.template(f"prompts/{name}")
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise jinja2.TemplateNotFound(name) from None
        return source, str(path), lambda: False  # never reuse: overrides may appear

    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text for a model, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["to_json"] = _to_json
    return env


def _to_json(value: Any, indent: int | None = 2) -> str:
    """JSON for a prompt: readable, non-ASCII kept; `to_json(none)` for one line."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        str(value)  # filters get undefined values quietly; StrictUndefined raises here
    return json.dumps(value, indent=indent, ensure_ascii=False)


def _prompt_error(project: Project, filename: str, exc: Exception) -> PromptError:
    import jinja2

    where = project.relative(project.template(f"prompts/{filename}"))
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{project.relative(project.template(f'prompts/{exc.name or filename}'))}"
        where += f":{exc.lineno}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return PromptError(f"prompt template {exc.name} not found (looked in templates/prompts/)")
    return PromptError(f"{where}: {exc}")
