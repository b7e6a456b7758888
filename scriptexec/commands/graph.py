"""`scriptexec graph`: the stage graph, with what each stage reads, as Mermaid or DOT;
with a spec that reads another spec's results (`from`), that spec and the stages it
reaches too. `--pipeline`: the specs and which reads which."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from scriptexec.engine.pipeline import key_inputs
from scriptexec.project import Project
from scriptexec.stages import STAGE_ORDER, get_stage

if TYPE_CHECKING:
    from scriptexec.spec.model import Spec


def _edges() -> list[tuple[str, str, str]]:
    edges = []
    for name in STAGE_ORDER:
        for upstream, files in get_stage(name).reads.items():
            label = "all files" if files == ("*",) else ", ".join(files)
            edges.append((upstream, name, label))
    return edges


def _inputs(spec: Spec | None, project: Project) -> dict[str, list[str]]:
    if spec is None:
        return {}
    return {
        name: sorted(key_inputs(spec, get_stage(name).inputs(spec, project)))
        for name in STAGE_ORDER
    }


def _upstream_edges(spec: Spec | None, inputs: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(upstream spec, stage, file): which stages of `spec` read which spec's results."""
    if spec is None:
        return []
    files = {r.spec: r.file for r in spec.resolved.upstream.values()}
    return [
        (up, stage, files[up])
        for up in sorted(files)
        for stage in STAGE_ORDER
        if f"upstream:{up}" in inputs[stage]
    ]


def node_id(spec_name: str) -> str:
    """A Mermaid or DOT id for a spec (its name may hold '-'), apart from stage ids."""
    return "spec_" + re.sub(r"[^A-Za-z0-9_]", "_", spec_name)


def stage_graph(*, project: Project, spec_path: Path | None, fmt: str) -> str:
    edges = _edges()
    spec = None
    if spec_path is not None:
        from scriptexec.spec.model import load_spec

        spec = load_spec(spec_path, project.relative(spec_path))
    inputs = _inputs(spec, project)
    reads = _upstream_edges(spec, inputs)
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
        for up in dict.fromkeys(u for u, _, _ in reads):
            lines.append(f'  {node_id(up)} [shape=cylinder, label="spec {up}"];')
        for up, stage, file in reads:
            lines.append(f'  {node_id(up)} -> {stage} [label="{file}", style=bold];')
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
        for up in dict.fromkeys(u for u, _, _ in reads):
            lines.append(f'  {node_id(up)}[("spec {up}")]')
        for up, stage, file in reads:
            lines.append(f'  {node_id(up)} ==>|"{file}"| {stage}')
    if inputs:
        comment = "//" if fmt == "dot" else "%%"
        for name in STAGE_ORDER:
            lines.append(f"{comment} {name} reads: {', '.join(inputs[name])}")
    return "\n".join(lines) + "\n"


def pipeline_graph(*, project: Project, paths: list[Path], fmt: str) -> str:
    """The specs of `paths` (and those they read from) and which reads which, labelled
    with the file read. A spec that does not load still shows its `from` edges."""
    from scriptexec.engine.pipeline import build_order
    from scriptexec.errors import SpecError
    from scriptexec.spec.model import load_spec
    from scriptexec.spec.upstream import outline

    order, needs = build_order(paths)
    names: dict[Path, str] = {}
    files: dict[Path, dict[str, str]] = {}
    for path in order:
        found = outline(path)
        names[path] = (found.name if found else None) or path.stem
        try:
            spec = load_spec(path, project.relative(path), root=project.root)
        except SpecError:
            continue
        files[path] = {r.spec: r.file for r in spec.resolved.upstream.values()}
    edges = [
        (names[up], names[path], files.get(path, {}).get(names[up], ""))
        for path in order
        for up in needs[path]
    ]
    if fmt == "dot":
        lines = ["digraph pipeline {", "  rankdir=LR;"]
        lines += [f'  {node_id(names[p])} [shape=box, label="{names[p]}"];' for p in order]
        for a, b, label in edges:
            lines.append(f'  {node_id(a)} -> {node_id(b)} [label="{label}"];')
        lines.append("}")
    else:
        lines = ["graph LR"]
        lines += [f'  {node_id(names[p])}["{names[p]}"]' for p in order]
        for a, b, label in edges:
            lines.append(f'  {node_id(a)} -->|"{label}"| {node_id(b)}')
    return "\n".join(lines) + "\n"
