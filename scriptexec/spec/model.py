"""Specs load through one function: safe YAML with positions, the JSON Schema, the
semantic checks, then a frozen Spec. Every problem in a file is reported at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scriptexec.errors import Problem, SpecError
from scriptexec.spec.yamlload import Located, decode_spec_bytes, load_yaml, read_spec_text


@dataclass(frozen=True)
class Spec:
    path: Path  # absolute
    display: str  # as shown to the user (relative to the project)
    canonical: dict[str, Any]  # defaults applied; treat as read-only
    doc: Located  # the document as written, with positions
    resolved: Any  # semantics.Resolved: formula types and order, for the compiler
    source_digest: str  # sha256 of the file's bytes

    @property
    def name(self) -> str:
        return str(self.canonical["name"])

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def line_of(self, *path: str | int) -> int:
        """The line where `path` ("compute", "dscr") is written, for messages."""
        return self.doc.pos(tuple(path))[0]

    def needs_llm(self) -> bool:
        """Whether building it asks an LLM: only prose steps do."""
        return bool(self.canonical["steps"])


def load_spec(path: Path, display: str | None = None, *, root: Path | None = None) -> Spec:
    """Load and check one spec; raise SpecError with every problem found.

    With `root` (the project), input files are checked too: they must exist and, unless
    the input says `outside_project: true`, lie inside the project.
    """
    display = display or str(path)
    text, problems = read_spec_text(path, display)
    if text is None:
        raise SpecError(problems)
    return _from_text(path, display, text, root=root)


def load_spec_bytes(path: Path, display: str, raw: bytes, *, root: Path | None = None) -> Spec:
    """As load_spec, for bytes already read (the engine hashes before it parses)."""
    text, problems = decode_spec_bytes(raw, display)
    if text is None:
        raise SpecError(problems)
    return _from_text(path, display, text, raw, root=root)


def _from_text(
    path: Path, display: str, text: str, raw: bytes | None = None, *, root: Path | None = None
) -> Spec:
    from scriptexec.spec.canonical import canonical_form
    from scriptexec.spec.schema_check import schema_problems
    from scriptexec.spec.semantics import analyze

    doc, problems = load_yaml(text, display)
    if doc is None:
        raise SpecError(problems)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a single value ({doc.data!r:.40})"
        raise SpecError(
            [Problem(display, 1, 1, "", f"a spec must be a mapping of keys, got {kind}")]
        )
    problems = schema_problems(doc, display)
    resolved, semantic = analyze(doc, display, path.resolve().parent, root)
    problems += [p for p in semantic if p not in problems]
    if problems:
        raise SpecError(problems)
    digest = hashlib.sha256(raw if raw is not None else text.encode("utf-8")).hexdigest()
    canonical = canonical_form(doc.data, resolved)
    return Spec(path.resolve(), display, canonical, doc, resolved, digest)
