"""The engine's side of pipelines (an input `from: <spec>`): which specs a build takes
and in what order, and what of an upstream spec enters a downstream's stage keys.

As make does with prerequisites, building a spec builds the specs it reads from first
(and `status`, `--check` and `-n` look at them too). Its stages depend on the upstream's
*results schema* only: the file its program writes and the columns and types that the
input reads. So editing a formula of the upstream whose type stays, or a comment, leaves
the downstream fresh, while a new column it reads or a changed type makes it stale, and
`status` says `upstream rent_roll changed`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scriptexec.engine.state import BuildState
    from scriptexec.spec.model import Spec

# What a no-op build needs stays cheap: the spec modules are imported inside functions.


def key_inputs(spec: Spec, inputs: dict[str, Any]) -> dict[str, Any]:
    """A stage's inputs with what an input reads from another spec taken out of the
    spec's own values and put under `upstream:<spec>`: the input's own declaration (as
    written) stays `spec.inputs.<name>`, so `status` tells a change of this spec from a
    change upstream. The upstream part is the file read and, for a stage that reads the
    input's fields, the columns and types: analyze and package, which read only where an
    input is, stay fresh when a type changes upstream. Stages that read no input
    declaration are left as they are."""
    reads = spec.resolved.upstream
    if not reads:
        return inputs
    out: dict[str, Any] = {}
    used: dict[str, set[str]] = {}  # input -> the keys of its declaration the stage reads
    for key, value in inputs.items():
        parts = key.split(".")
        if key == "spec.inputs" and isinstance(value, dict):
            for n, v in value.items():
                if n in reads:
                    used.setdefault(n, set()).update(v if isinstance(v, dict) else ("fields",))
            value = {n: declared(spec, n) if n in reads else v for n, v in value.items()}
        elif parts[:2] == ["spec", "inputs"] and len(parts) > 2 and parts[2] in reads:
            out[f"spec.inputs.{parts[2]}"] = declared(spec, parts[2])
            used.setdefault(parts[2], set()).update(parts[3:4] or ("fields",))
            continue
        out[key] = value
    for name, keys in sorted(used.items()):
        read = reads[name]
        material = read.key()
        if "fields" not in keys:  # a stage that reads where, not what (analyze, package)
            del material["columns"]
        out.setdefault(f"upstream:{read.spec}", {})[name] = material
    return out


def declared(spec: Spec, input_name: str) -> Any:
    """An input's declaration as the spec writes it (JSON-able: a YAML date is text)."""
    raw = spec.doc.data["inputs"][input_name]
    return json.loads(json.dumps(raw, default=str, sort_keys=True))


def upstream_display(spec: Spec, upstream: str) -> str | None:
    """Where the upstream spec of that name is, as messages show it."""
    for read in spec.resolved.upstream.values():
        if read.spec == upstream:
            return str(read.display)
    return None


def upstreams(spec: Spec) -> dict[str, str]:
    """The specs `spec` reads from: name -> spec file, as messages show it."""
    return {r.spec: r.display for r in spec.resolved.upstream.values()}


def upstream_paths(spec: Spec) -> dict[str, str]:
    """The specs `spec` reads from: name -> absolute spec file."""
    return {r.spec: str(r.path) for r in spec.resolved.upstream.values()}


def upstream_files(spec: Spec) -> dict[str, Any]:
    """Every spec file the upstreams came from (transitively), with the signature each
    had when read: a no-op build looks at them like at any file a build read."""
    files: dict[str, Any] = {}
    for read in spec.resolved.upstream.values():
        files.update(read.files)
    return files


# -- which specs, in which order -------------------------------------------------------------


def build_order(
    paths: list[Path], *, add_upstreams: bool = True
) -> tuple[list[Path], dict[Path, list[Path]]]:
    """`paths` with the specs they read from before them (added when `add_upstreams`),
    otherwise in the order given; and for each, the specs of the list it reads from.
    Read from the files' `name` and `from` keys alone. A cycle is left for loading the
    spec to report: a spec asked for that is in one comes without its upstreams, so
    the error a build shows first is its own."""
    from scriptexec.spec.upstream import find_cycle, find_spec, outline

    order: list[Path] = []
    needs: dict[Path, list[Path]] = {}
    wanted = set(paths)
    visiting: set[Path] = set()

    def visit(path: Path) -> None:
        if path in needs or path in visiting:
            return
        visiting.add(path)
        found = outline(path)
        froms = list((found.froms if found else {}).values())
        if path in wanted and found is not None and found.name is not None:
            name = found.name
            if any(find_cycle(name, up, path.parent) for up in froms):
                froms = []
        ups = []
        for up in froms:
            up_path = find_spec(up, path.parent)
            if up_path is None or up_path == path:
                continue
            if add_upstreams or up_path in wanted:
                visit(up_path)
                if up_path in needs:
                    ups.append(up_path)
        visiting.discard(path)
        needs[path] = list(dict.fromkeys(ups))
        order.append(path)

    for path in paths:
        visit(path)
    return order, needs


def recorded_closure(state: BuildState, paths: list[Path]) -> list[Path]:
    """`paths` and the upstream specs their last builds read from, upstreams first:
    what a no-op build checks, from the build state alone (no YAML read)."""
    out: list[Path] = []
    seen: set[str] = set()

    def visit(path: Path) -> None:
        if str(path) in seen:
            return
        seen.add(str(path))
        entry = state.specs.get(str(path))
        for up in (entry.upstream if entry else {}).values():
            visit(Path(up))
        out.append(path)

    for path in paths:
        visit(path)
    return out
