"""Why a stage is stale, in words a person can act on.

Every decision carries its reasons (as doit's): the lock remembers a short digest of each
input a stage read, so comparing them with the current ones names what changed, down to
the spec key and its line.
"""

from __future__ import annotations

from typing import Any

from scriptexec.engine.keys import short_hash
from scriptexec.engine.lockfile import StageEntry
from scriptexec.spec.model import Spec

# Stage-key settings the environment can override (scriptexec.llm.base.ENV_OVERRIDES; the
# host is not in any key).
LLM_OVERRIDABLE = ("provider", "model", "temperature")


def flatten_inputs(inputs: dict[str, Any]) -> dict[str, str]:
    """Input name -> short digest; mappings under spec.* are split one level further, so
    a change is reported as `compute.dscr`, not just `compute`."""
    flat: dict[str, str] = {}
    for name, value in inputs.items():
        if name.startswith("spec.") and isinstance(value, dict) and value:
            for sub, subvalue in value.items():
                flat[f"{name}.{sub}"] = short_hash(subvalue)
        else:
            flat[name] = short_hash(value)
    return flat


def describe_input(name: str, spec: Spec, project: Any) -> tuple[str, str]:
    """(what, where): ("compute.dscr", " (specs/dscr.yaml:23)")."""
    kind, _, rest = name.partition(":")
    if name.startswith("spec."):
        path = name[len("spec.") :]
        parts = path.split(".")
        line = spec.doc.pos(tuple(parts))[0] if _declared(spec, parts) else None
        return path, f" ({spec.display}:{line})" if line else ""
    if kind == "template":
        return project.relative(project.template(rest)), ""
    if kind == "file":
        return rest, ""
    if kind == "upstream":  # what an input reads of another spec's results (`from`)
        from scriptexec.engine.pipeline import upstream_display

        shown = upstream_display(spec, rest)
        return f"upstream {rest}", f" ({shown})" if shown else ""
    if kind == "code":  # the runtime a program vendors, or the SQL compiler
        return f"{rest} (scriptexec's own code)", ""
    if name == "setting:base_image":
        # An override for one run: say which one is in effect now, so a variable left set
        # in the shell is not a surprise.
        source = project.options.base_image_source
        if source in ("", "scriptexec.toml"):
            source = "--base-image or SCRIPTEXEC_BASE_IMAGE"
        return f"base image override ({source})", ""
    if kind == "config":
        return f"{rest} in scriptexec.toml", ""
    if kind == "setting" and rest in LLM_OVERRIDABLE:
        # The environment may override the spec's generator block: say which one is in
        # effect now, so a variable left set (or just unset) explains the change.
        from scriptexec.llm.base import setting_source

        return f"setting {rest}", f" (now {setting_source(rest)})"
    if kind == "setting":
        return f"setting {rest}", ""
    return name, ""


def _declared(spec: Spec, parts: list[str]) -> bool:
    node: Any = spec.doc.data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def stale_reason(
    entry: StageEntry | None,
    key: str,
    flat: dict[str, str],
    upstream: dict[str, dict[str, str]],
    spec: Spec,
    project: Any,
) -> str | None:
    """None when the lock says this exact key was built; else what changed."""
    if entry is None:
        return "never built"
    if entry.key == key:
        return None
    changed = [n for n in flat if entry.inputs.get(n) != flat[n]]
    removed = [n for n in entry.inputs if n not in flat]
    words = []
    for n in changed:
        what, where = describe_input(n, spec, project)
        words.append(f"{what} {'changed' if n in entry.inputs else 'added'}{where}")
    for n in removed:
        what, _ = describe_input(n, spec, project)
        words.append(f"{what} removed")
    for up, files in upstream.items():
        if entry.upstream.get(up) != files:
            words.append(f"output of {up} changed")
    if not words:
        return "the stage or key format changed (new scriptexec version)"
    if len(words) > 4:
        words = [*words[:4], f"and {len(words) - 4} more"]
    return ", ".join(words)
