"""Prompt templates: every shipped one renders with its documented context, a project's
own template wins, and any change to a prompt's text changes its digest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scriptexec.llm.prompts import PromptError, prompt_digest, prompt_messages, render_prompt
from scriptexec.project import Project
from scriptexec.resources import templates_dir

SIGNATURE = "def watchlist(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:"
CONTEXTS: dict[str, dict[str, Any]] = {
    "system": {"task": "step"},
    "step": {
        "title": "Debt service coverage ratio",
        "name": "watchlist",
        "do": "Mark properties whose DSCR falls more than 15% under the covenant",
        "signature": SIGNATURE,
        "fields": {"property_id": "string", "dscr": "number"},
        "parameters": {"covenant": {"type": "number", "default": 1.25}},
        "produces": {"watchlist": "boolean"},
        "examples": [
            {
                "name": "at the covenant",
                "given": {"properties": [{"dscr": 1.25}]},
                "expect": {"rows": [{"watchlist": False}]},
            },
        ],
    },
    "repair": {
        "name": "watchlist",
        "do": "Mark properties whose DSCR falls more than 15% under the covenant",
        "signature": SIGNATURE,
        "produces": {"watchlist": "boolean"},
        "code": "def watchlist(row, params):\n    return {}\n",
        "errors": ["check 'at the covenant': watchlist is missing", "ruff: F401 unused import"],
        "earlier": [
            {
                "number": 1,
                "code": "def watchlist(row, params):\n    return None\n",
                "errors": ["check 'at the covenant': the result is not a dict"],
            }
        ],
        "attempt": 3,
        "max_attempts": 3,
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path)


def override(project: Project, name: str, text: str) -> None:
    path = project.root / "templates" / "prompts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_every_shipped_prompt_has_a_context_here() -> None:
    shipped = {p.stem for p in (templates_dir() / "prompts").glob("*.j2")}
    assert shipped == set(CONTEXTS)


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_shipped_prompts_render(project: Project, name: str) -> None:
    text, digest = render_prompt(project, name, **CONTEXTS[name])
    assert "{{" not in text and "{%" not in text
    assert text.endswith("\n") and not text.startswith(("\n", " "))
    assert digest == prompt_digest(project, name)
    assert digest.startswith("sha256:")


def test_the_step_prompt_carries_the_spec(project: Project) -> None:
    text, _ = render_prompt(project, "step", **CONTEXTS["step"])
    for fact in (SIGNATURE, "- dscr: number", "- watchlist: boolean", "at the covenant", "15%"):
        assert fact in text


def test_the_repair_prompt_carries_code_and_errors(project: Project) -> None:
    text, _ = render_prompt(project, "repair", **CONTEXTS["repair"])
    assert "attempt 3 of 3" in text
    assert "```python\ndef watchlist(row, params):\n    return {}\n```" in text
    assert "- ruff: F401 unused import" in text
    # ...and every earlier attempt with its own errors
    assert "Attempt 1 was wrong:\n```python\ndef watchlist(row, params):\n    return None" in text
    assert "- check 'at the covenant': the result is not a dict" in text


def test_each_repair_prompt_differs_from_the_one_before(project: Project) -> None:
    """A server's prompt cache answers a prompt it has seen with the reply it gave."""
    second, _ = render_prompt(project, "repair", **dict(CONTEXTS["repair"], earlier=[], attempt=2))
    third, _ = render_prompt(project, "repair", **CONTEXTS["repair"])
    assert "was wrong" not in second and second != third


@pytest.mark.parametrize("name", ["step", "repair"])
def test_a_missing_variable_is_an_error_naming_the_template(project: Project, name: str) -> None:
    context = dict(CONTEXTS[name])
    context.pop(sorted(context)[0])
    with pytest.raises(PromptError, match=f"templates/prompts/{name}.j2: .*undefined"):
        render_prompt(project, name, **context)


def test_a_project_override_wins_and_changes_the_digest(project: Project) -> None:
    shipped_digest = render_prompt(project, "step", **CONTEXTS["step"])[1]
    repair_digest = prompt_digest(project, "repair")
    override(project, "step.j2", "Write {{ name }} as {{ signature }}\n")
    text, digest = render_prompt(project, "step", **CONTEXTS["step"])
    assert text == f"Write watchlist as {SIGNATURE}\n"
    assert digest != shipped_digest
    assert prompt_digest(project, "step") == digest
    assert prompt_digest(project, "repair") == repair_digest  # the others keep the shipped text


def test_the_digest_follows_included_templates(project: Project) -> None:
    override(project, "step.j2", '{% include "rules.j2" %}\nWrite {{ name }}.\n')
    override(project, "rules.j2", "Rule one.\n")
    first = prompt_digest(project, "step")
    assert render_prompt(project, "step", **CONTEXTS["step"])[0] == "Rule one.\nWrite watchlist.\n"
    override(project, "rules.j2", "Rule two.\n")
    assert prompt_digest(project, "step") != first


def test_the_digest_ignores_context(project: Project) -> None:
    other = dict(CONTEXTS["step"], name="other")
    assert render_prompt(project, "step", **other)[1] == prompt_digest(project, "step")


def test_prompt_messages_pair_system_and_task(project: Project) -> None:
    messages, digest = prompt_messages(project, "step", **CONTEXTS["step"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "```python" in messages[0]["content"]  # the code flavour of the system prompt
    override(project, "system.j2", "Be brief.\n")
    messages2, digest2 = prompt_messages(project, "step", **CONTEXTS["step"])
    assert messages2[0]["content"] == "Be brief.\n"
    assert digest2 != digest


def test_the_json_flavour_of_the_system_prompt(project: Project) -> None:
    """For prompts that ask for structured output (scriptexec.llm.structured)."""
    text, _ = render_prompt(project, "system", task="draft")
    assert "JSON" in text and "```python" not in text


def test_a_broken_override_names_file_and_line(project: Project) -> None:
    override(project, "step.j2", "fine\n{% if %}\n")
    with pytest.raises(PromptError, match=r"templates/prompts/step.j2:2"):
        render_prompt(project, "step", **CONTEXTS["step"])


def test_an_unknown_prompt(project: Project) -> None:
    with pytest.raises(PromptError, match=r"nosuch\.j2 not found"):
        render_prompt(project, "nosuch")
