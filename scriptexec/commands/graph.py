"""`scriptexec graph`: the stage graph, with what each stage reads, as Mermaid or DOT."""

from __future__ import annotations

import itertools
from pathlib import Path

from scriptexec.project import Project
from scriptexec.stages import STAGE_ORDER, get_stage


def _edges() -> list[tuple[str, str, str]]:
    edges = []
    for name in STAGE_ORDER:
        for upstream, files in get_stage(name).reads.items():
            label = "all files" if files == ("*",) else ", ".join(files)
            edges.append((upstream, name, label))
    return edges


def _inputs(project: Project, spec_path: Path | None) -> dict[str, list[str]]:
    if spec_path is None:
        return {}
    from scriptexec.spec.model import load_spec

    spec = load_spec(spec_path, project.relative(spec_path))
    return {name: sorted(get_stage(name).inputs(spec, project)) for name in STAGE_ORDER}


def stage_graph(*, project: Project, spec_path: Path | None, fmt: str) -> str:
    edges = _edges()
    inputs = _inputs(project, spec_path)
    # The run order is a chain; data edges show what each stage reads.
    order = list(itertools.pairwise(STAGE_ORDER))
    if fmt == "dot":
        lines = ["digraph scriptexec {", "  rankdir=LR;"]
        for name in STAGE_ORDER:
            label = name + (f"\\n{len(inputs[name])} inputs" if inputs else "")
            lines.append(f'  {name} [shape=box, label="{label}"];')
        for a, b in order:
            lines.append(f"  {a} -> {b} [style=dotted];")
        for a, b, label in edges:
            lines.append(f'  {a} -> {b} [label="{label}"];')
        lines.append("}")
    else:
        lines = ["graph LR"]
        for name in STAGE_ORDER:
            detail = f"<br/>{len(inputs[name])} inputs" if inputs else ""
            lines.append(f'  {name}["{name}{detail}"]')
        for a, b in order:
            lines.append(f"  {a} -.-> {b}")
        for a, b, label in edges:
            lines.append(f'  {a} -->|"{label}"| {b}')
    if inputs:
        comment = "//" if fmt == "dot" else "%%"
        for name in STAGE_ORDER:
            lines.append(f"{comment} {name} reads: {', '.join(inputs[name])}")
    return "\n".join(lines) + "\n"
