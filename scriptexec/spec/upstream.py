"""Pipelines of specs: an input `from: <spec name>` reads another spec's row results.

The upstream spec is looked up by its `name` among the spec files in the downstream's own
directory, and loaded (checked) in full: the downstream's fields are the upstream's
result columns with their types, or, when the input declares `fields`, a subset of them
with the same types. Which file is read follows the upstream's outputs: results.parquet
when it writes one (exact types), else results.csv, else results.json. At run time the
program reads it where the upstream's program writes it by default, beside its own
directory (`../<upstream>/results/<file>`), unless NAME_LOCATION says otherwise.

A cycle (a spec that reads its own results, or a -> b -> a) is found before anything is
loaded, by following the `from` keys of the files alone, so it is one error naming the
cycle rather than an endless recursion.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scriptexec.engine.digests import RACY_NS, Signature, signature
from scriptexec.errors import SpecError
from scriptexec.spec.suggest import did_you_mean

if TYPE_CHECKING:
    from scriptexec.spec.model import Spec
    from scriptexec.spec.yamlload import Path_

# The upstream output a downstream reads, best first: parquet keeps every type exactly,
# CSV quotes some text against spreadsheet formulas (the reader takes the quote off).
ROW_OUTPUTS = {"results.parquet": "parquet", "results.csv": "csv", "results.json": "json"}
# Where an upstream program writes by default (runtime settings: OUTPUT_DIR), seen from
# the downstream program's directory: build/<downstream>/../<upstream>/results/.
RESULTS_DIR = "results"
# Keys of a file input that say where and how to read: an upstream's outputs decide them.
NOT_WITH_FROM = ("format", "location", "table", "query", "records", "encoding", "outside_project")
SPEC_SUFFIXES = (".yaml", ".yml")

Problem = Callable[..., None]  # the analyzer's problem(path, message, hint, value=...)


@dataclass(frozen=True)
class Column:
    type: str
    required: bool


@dataclass(frozen=True)
class UpstreamRead:
    """What one input reads from an upstream spec's results."""

    input: str
    spec: str  # the upstream's name
    path: Path  # its spec file
    display: str  # as messages show it (specs/rent_roll.yaml)
    file: str  # results.parquet | results.csv | results.json
    columns: dict[str, Column]  # the fields read, in the upstream's column order
    files: dict[str, Signature | None]  # the upstream spec files (transitively) as read

    @property
    def format(self) -> str:
        return ROW_OUTPUTS[self.file]

    @property
    def location(self) -> str:
        return f"../{self.spec}/{RESULTS_DIR}/{self.file}"

    def declarations(self) -> dict[str, str]:
        """The fields as a spec would declare them (`number?`), for the checks."""
        return {n: c.type + ("" if c.required else "?") for n, c in self.columns.items()}

    def key(self) -> dict[str, Any]:
        """What the downstream's program depends on: which file, its columns and types."""
        return {
            "spec": self.spec,
            "file": self.file,
            "columns": {n: [c.type, c.required] for n, c in self.columns.items()},
        }

    def canonical(self, declared: dict[str, Any]) -> dict[str, Any]:
        """The input's canonical form (canonical.py's shape for every input)."""
        fields = {}
        decls = declared.get("fields")
        decls = decls if isinstance(decls, dict) else {}
        for name, col in self.columns.items():
            decl = decls.get(name)
            desc = decl.get("description", "") if isinstance(decl, dict) else ""
            fields[name] = {
                "type": col.type,
                "required": col.required,
                "description": " ".join(str(desc or "").split()),
            }
        return {
            "from": self.spec,
            "format": self.format,
            "location": self.location,
            "env": declared.get("env") or f"{self.input.upper()}_LOCATION",
            "table": None,
            "query": None,
            "records": "",
            "fields": fields,
            "join_on": declared.get("join_on"),
            "repeat": declared.get("repeat"),
        }


def upstream_name(inp: Any) -> str | None:
    """The spec an input reads from, or None for an ordinary input."""
    up = inp.get("from") if isinstance(inp, dict) else None
    return up if isinstance(up, str) else None


# -- finding specs by name, from their files alone ------------------------------------------


@dataclass(frozen=True)
class Outline:
    """A spec file's name and the specs its inputs read from: enough to find and order."""

    name: str | None
    froms: dict[str, str]  # input -> upstream name


_outlines: dict[str, tuple[Signature | None, Outline | None]] = {}
_outlines_lock = threading.Lock()


def outline(path: Path) -> Outline | None:
    """The name and `from` keys of a spec file (None when it cannot be read as one).
    Remembered by the file's signature: ordering a build reads every spec once."""
    from scriptexec.spec.yamlload import load_yaml, read_spec_text

    sig = signature(path)
    with _outlines_lock:
        hit = _outlines.get(str(path))
    if hit is not None and hit[0] == sig and sig is not None and not _racy(sig):
        return hit[1]
    text, _ = read_spec_text(path, str(path))
    doc, _ = load_yaml(text, str(path)) if text is not None else (None, [])
    found = None
    if doc is not None and isinstance(doc.data, dict):
        name = doc.data.get("name")
        inputs = doc.data.get("inputs")
        froms = {}
        for iname, inp in inputs.items() if isinstance(inputs, dict) else ():
            up = upstream_name(inp)
            if up is not None:
                froms[str(iname)] = up
        found = Outline(name if isinstance(name, str) else None, froms)
    with _outlines_lock:
        _outlines[str(path)] = (sig, found)
    return found


def _racy(sig: Signature) -> bool:
    """A signature too close to now to trust (an edit in the same clock tick)."""
    return time.time_ns() - sig[0] < RACY_NS


def spec_files(directory: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [directory / n for n in names if n.endswith(SPEC_SUFFIXES) and not n.startswith(".")]


def spec_names(directory: Path) -> dict[str, Path]:
    """Spec name -> file, for the specs in `directory` (the first file of a name wins)."""
    names: dict[str, Path] = {}
    for path in spec_files(directory):
        found = outline(path)
        if found is not None and found.name is not None:
            names.setdefault(found.name, path)
    return names


def find_spec(name: str, directory: Path) -> Path | None:
    """The file of the spec named `name` in `directory`: <name>.yaml when it is that
    spec (the usual case: one file read), else whichever file declares the name."""
    for suffix in SPEC_SUFFIXES:
        path = directory / f"{name}{suffix}"
        found = outline(path) if path.is_file() else None
        if found is not None and found.name == name:
            return path
    return spec_names(directory).get(name)


def find_cycle(start: str, first: str, directory: Path) -> list[str] | None:
    """[start, first, ..., start] when following `from` keys from `first` leads back to
    `start` (a spec reading itself is [start, start]); None when it never does."""
    stack = [(first, [start, first])]
    seen: set[str] = set()
    while stack:
        name, trail = stack.pop()
        if name == start:
            return trail
        if name in seen:
            continue
        seen.add(name)
        path = find_spec(name, directory)
        found = outline(path) if path is not None else None
        for up in sorted((found.froms if found else {}).values(), reverse=True):
            stack.append((up, [*trail, up]))
    return None


# -- loading an upstream -------------------------------------------------------------------

_loaded: dict[tuple[str, str, str], tuple[dict[str, Signature | None], Spec]] = {}
_loaded_lock = threading.Lock()


def load_upstream(path: Path, display: str, root: Path | None) -> tuple[Spec, dict[str, Any]]:
    """The upstream spec, checked, and the signatures of every spec file it came from
    (its own, then its upstreams'). Raises SpecError. Remembered while none of those
    files moves, so a build of a pipeline checks each spec once."""
    from scriptexec.spec.model import load_spec

    key = (str(path), display, str(root))
    with _loaded_lock:
        hit = _loaded.get(key)
    if hit is not None and all(
        s is not None and not _racy(s) and signature(p) == s for p, s in hit[0].items()
    ):
        return hit[1], hit[0]
    sig = signature(path)  # before reading: an edit while it is read shows next time
    spec = load_spec(path, display, root=root)
    files: dict[str, Signature | None] = {str(path): sig}
    for read in spec.resolved.upstream.values():
        files.update(read.files)
    with _loaded_lock:
        _loaded[key] = (files, spec)
    return spec, files


def result_columns(spec: Spec) -> dict[str, Column]:
    """The columns of a spec's row results, in the order its program writes them, with
    their types. Required only where a value is always there: the row source's required
    fields and a repeat's counter. A joined field is missing when no row matches, and a
    computed one when its row is in error (the `error` column itself is not read)."""
    c = spec.canonical
    columns: dict[str, Column] = {}
    for name, inp in c["inputs"].items():
        primary = name == c["rows"]
        for field, decl in inp["fields"].items():
            if field not in columns:
                columns[field] = Column(decl["type"], bool(decl["required"]) and primary)
        if inp["repeat"]:
            columns[inp["repeat"]["as"]] = Column("integer", primary)
    for name, checked in spec.resolved.compute.items():
        columns[name] = Column(checked.type, False)
    for step in c["steps"]:
        for name, typ in step["produces"].items():
            columns.setdefault(name, Column(typ, False))
    return columns


# -- the analyzer's part ---------------------------------------------------------------------


def resolve_inputs(
    data: dict[str, Any],
    display: str,
    base_dir: Path | None,
    root: Path | None,
    problem: Problem,
) -> tuple[dict[str, UpstreamRead], bool]:
    """Each `from` input's read, reporting what is wrong through `problem`; and whether
    some upstream could not be read (the analyzer then stays quiet about the unknown
    names that follows from it)."""
    inputs = data.get("inputs")
    inputs = inputs if isinstance(inputs, dict) else {}
    reads: dict[str, UpstreamRead] = {}
    failed = False
    for iname, inp in inputs.items():
        if not isinstance(inp, dict) or "from" not in inp:
            continue
        up = upstream_name(inp)
        for key in NOT_WITH_FROM:
            if key in inp:
                problem(("inputs", iname, key), *_not_with_from(key, up, iname))
        read = _resolve(iname, up, inp, data, display, base_dir, root, problem) if up else None
        if read is None:
            failed = True
        else:
            reads[iname] = read
    return reads, failed


def _not_with_from(key: str, up: str | None, iname: str) -> tuple[str, str]:
    spec = f"spec '{up}'" if up else "another spec"
    if key == "format":
        return f"an input read from {spec} takes its format from that spec's outputs", (
            "remove format"
        )
    if key == "location":
        return f"an input read from {spec} is found where that spec's program writes it", (
            f"remove location; {iname.upper()}_LOCATION overrides it at run time"
        )
    return f"'{key}' does not apply to an input read from {spec}", ""


def _resolve(
    iname: str,
    up: str,
    inp: dict[str, Any],
    data: dict[str, Any],
    display: str,
    base_dir: Path | None,
    root: Path | None,
    problem: Problem,
) -> UpstreamRead | None:
    at: Path_ = ("inputs", iname, "from")
    own = data.get("name")
    if up == own:
        hint = "a spec cannot read its own results"
        problem(at, f"the pipeline has a cycle: {own} -> {own}", hint, value=True)
        return None
    path = find_spec(up, base_dir) if base_dir is not None else None
    if path is None:
        known = sorted(spec_names(base_dir)) if base_dir is not None else []
        hint = did_you_mean(up, known) or (
            f"the specs beside this one are: {', '.join(known)}" if known else ""
        )
        problem(at, f"unknown spec '{up}'", hint, value=True)
        return None
    if isinstance(own, str) and base_dir is not None:
        cycle = find_cycle(own, up, base_dir)
        if cycle is not None:
            problem(at, "the pipeline has a cycle: " + " -> ".join(cycle), value=True)
            return None
    up_display = os.path.join(os.path.dirname(display), path.name)
    try:
        spec, files = load_upstream(path, up_display, root)
    except SpecError as exc:
        n = len(exc.problems)
        problem(
            at,
            f"spec '{up}' is not valid ({n} problem{'s' if n != 1 else ''} in {up_display})",
            f"run: scriptexec validate {up_display}",
            value=True,
        )
        return None
    file = next((f for f in ROW_OUTPUTS if f in spec.canonical["outputs"]), None)
    if file is None:
        problem(
            at,
            f"spec '{up}' writes no row results",
            "add results.parquet, results.csv or results.json to its outputs",
            value=True,
        )
        return None
    columns: dict[str, Column] | None = result_columns(spec)
    declared = inp.get("fields")
    if isinstance(declared, dict) and columns is not None:
        columns = _declared_columns(iname, up, declared, columns, problem)
    if columns is None:
        return None
    return UpstreamRead(iname, up, path, up_display, file, columns, files)


def _declared_columns(
    iname: str,
    up: str,
    declared: dict[str, Any],
    columns: dict[str, Column],
    problem: Problem,
) -> dict[str, Column] | None:
    """The declared fields, each a result column of the upstream with the same type; in
    the upstream's column order (the order its file has them)."""
    from scriptexec.spec.semantics import field_type

    ok = True
    chosen: dict[str, Column] = {}
    for fname, decl in declared.items():
        ft = field_type(decl)
        if ft is None:
            continue  # the schema reports it
        path: Path_ = ("inputs", iname, "fields", fname)
        col = columns.get(fname)
        if col is None:
            problem(
                path,
                f"'{fname}' is not a result column of spec '{up}'",
                did_you_mean(fname, columns),
            )
            ok = False
        elif ft[0] != col.type:
            problem(
                path,
                f"'{fname}' is {col.type} in the results of spec '{up}', not {ft[0]}",
                value=True,
            )
            ok = False
        else:
            chosen[fname] = Column(col.type, ft[1])
    if not ok:
        return None
    return {n: chosen[n] for n in columns if n in chosen}


def quiet_after_unresolved(problems: list[Any]) -> list[Any]:
    """Without an upstream's columns every name taken from them is unknown; those
    problems only repeat the one about `from`, so they are left out."""
    cascade = ("unknown name '", "unknown row field '", "unknown field '", "unknown result field '")
    return [p for p in problems if not p.message.startswith(cascade)]
