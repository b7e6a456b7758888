"""Safe YAML with positions, and with limits that hostile files cannot get past.

PyYAML's composer gives a node tree that keeps line and column marks; we construct plain
Python values from it ourselves so that we can (a) remember where every key and value
was, (b) report duplicate keys instead of silently keeping the last one, and (c) stop
alias bombs and deep nesting before they cost memory or a stack overflow.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.errors import Problem

MAX_SPEC_BYTES = 1 << 20  # 1 MiB: a spec is a page or two; anything near this is a mistake
MAX_NODES = 100_000  # values constructed, counting every alias expansion
MAX_DEPTH = 64  # nesting of mappings and sequences
TOO_DEEP = f"document is nested deeper than {MAX_DEPTH} levels"

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """A loaded document and where each of its parts came from."""

    data: Any
    # path -> (line, col) of the key (mapping entries) or the item (sequence entries), 1-based
    key_pos: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # path -> (line, col, style) of the value; style is the YAML scalar style:
    # '' plain, '"' or "'" quoted, '|' or '>' block
    value_pos: dict[Path_, tuple[int, int, str]] = field(default_factory=dict)

    def pos(self, path: Path_) -> tuple[int, int]:
        """The best position for `path`: the key, else the nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.key_pos:
                return self.key_pos[p]
            p = p[:-1]
        return (1, 1)


class _TooBig(Exception):
    def __init__(self, problem: str, mark: Any = None) -> None:
        self.problem = problem
        self.mark = mark


def read_spec_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """Read a spec file as UTF-8 text, refusing what no spec can be."""

    def fail(msg: str, line: int = 1, col: int = 1) -> tuple[None, list[Problem]]:
        return None, [Problem(display, line, col, "", msg)]

    try:
        st = os.stat(path)
    except OSError as exc:
        return fail(f"cannot read file: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return fail("not a regular file")
    if st.st_size > MAX_SPEC_BYTES:
        return fail(
            f"file is {st.st_size / 1e6:.1f} MB; a spec may be at most {MAX_SPEC_BYTES >> 20} MiB"
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)  # the file may have grown since stat
    except OSError as exc:
        return fail(f"cannot read file: {exc.strerror or exc}")
    if len(raw) > MAX_SPEC_BYTES:
        return fail(f"file is larger than {MAX_SPEC_BYTES >> 20} MiB")
    return decode_spec_bytes(raw, display)


def decode_spec_bytes(raw: bytes, display: str) -> tuple[str | None, list[Problem]]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        msg = f"invalid UTF-8 byte 0x{raw[exc.start]:02x} (specs must be UTF-8 text)"
        return None, [Problem(display, line, col, "", msg)]
    if not text.strip():
        return None, [
            Problem(display, 1, 1, "", "file is empty (expected a mapping with version, name, ...)")
        ]
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        return None, [Problem(display, line, i - text.rfind("\n", 0, i), "", "NUL byte in file")]
    return text, []


def _tab_problems(text: str, display: str) -> list[Problem]:
    """YAML forbids tabs in indentation; PyYAML's message for it is cryptic, so say it plainly."""
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                Problem(
                    display,
                    n,
                    indent.index("\t") + 1,
                    "",
                    "tab character in indentation (YAML indents with spaces)",
                )
            )
    return problems


def load_yaml(text: str, display: str) -> tuple[Located | None, list[Problem]]:
    """Parse `text` into plain values with positions. Problems are returned, never raised."""
    import yaml

    problems = _tab_problems(text, display)
    if problems:
        return None, problems
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if "nesting depth" in (exc.problem or ""):
            # libyaml >= 0.2.5 (PyYAML 6.0.4's wheels) stops at its own depth limit, far
            # above ours; say it the way the builder below does, whichever library stopped.
            return None, [Problem(display, line, col, "", TOO_DEEP)]
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            what = f"{exc.problem} ({exc.context})"
        return None, [Problem(display, line, col, "", f"YAML syntax error: {what}")]
    except yaml.reader.ReaderError as exc:
        pos = max(exc.position, 0)
        line = text.count("\n", 0, pos) + 1
        col = pos - text.rfind("\n", 0, pos)
        msg = f"YAML syntax error: control character U+{exc.character:04X} is not allowed"
        return None, [Problem(display, line, col, "", msg)]
    except yaml.YAMLError as exc:
        return None, [Problem(display, 1, 1, "", f"YAML error: {str(exc).splitlines()[0]}")]
    except RecursionError:
        return None, [Problem(display, 1, 1, "", TOO_DEEP)]
    finally:
        loader.dispose()
    if root is None:
        return None, [Problem(display, 1, 1, "", "file has no YAML document (only comments?)")]
    builder = _Builder(loader_cls, display)
    try:
        data = builder.build(root, (), 0)
    except _TooBig as exc:
        line, col = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (1, 1)
        return None, [Problem(display, line, col, "", exc.problem)]
    if builder.problems:
        return None, builder.problems
    return Located(data, builder.key_pos, builder.value_pos), []


class _Builder:
    def __init__(self, loader_cls: Any, display: str) -> None:
        self._scalar_loader = loader_cls("")  # only its constructor is used, for scalar tags
        self.display = display
        self.nodes = 0
        self.key_pos: dict[Path_, tuple[int, int]] = {}
        self.value_pos: dict[Path_, tuple[int, int, str]] = {}
        self.problems: list[Problem] = []

    def build(self, node: Any, path: Path_, depth: int) -> Any:
        import yaml

        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(
                f"document expands to more than {MAX_NODES} values (an alias bomb?)",
                node.start_mark,
            )
        if depth > MAX_DEPTH:
            raise _TooBig(TOO_DEEP, node.start_mark)
        mark = node.start_mark
        if node.tag not in _PLAIN_TAGS:
            # `!!python/object/apply:os.system [...]` and friends: name the tag, since the
            # value it is attached to would otherwise only look like the wrong type.
            self.problems.append(
                Problem(
                    self.display,
                    mark.line + 1,
                    mark.column + 1,
                    _dotted(path),
                    f"YAML tag '{_short_tag(node.tag)}' is not allowed in specs "
                    "(only plain values, lists and mappings)",
                )
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            self.value_pos[path] = (mark.line + 1, mark.column + 1, node.style or "")
            if node.tag == _YAML_TAG + "timestamp":
                # `2024-03-31` as the text written, not a datetime.date: a spec's values
                # are JSON's (its canonical form is hashed as JSON), and a date field or
                # parameter reads ISO text; a string field keeps exactly what was typed.
                return str(node.value)
            try:
                return self._scalar_loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                msg = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                self.problems.append(
                    Problem(self.display, mark.line + 1, mark.column + 1, _dotted(path), msg)
                )
                return None
        if isinstance(node, yaml.SequenceNode):
            self.value_pos[path] = (mark.line + 1, mark.column + 1, "")
            items = []
            for i, child in enumerate(node.value):
                cm = child.start_mark
                item_path = (*path, i)
                self.key_pos[item_path] = (cm.line + 1, cm.column + 1)
                items.append(self.build(child, item_path, depth + 1))
            return items
        if isinstance(node, yaml.MappingNode):
            self.value_pos[path] = (mark.line + 1, mark.column + 1, "")
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                km = key_node.start_mark
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
                        Problem(
                            self.display,
                            km.line + 1,
                            km.column + 1,
                            _dotted(path),
                            "merge keys ('<<') are not supported in specs",
                        )
                    )
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(
                        Problem(
                            self.display,
                            km.line + 1,
                            km.column + 1,
                            _dotted(path),
                            "a key must be a plain name, not a list or mapping",
                        )
                    )
                    continue
                key = str(key_node.value)
                child_path = (*path, key)
                if key in result:
                    first = self.key_pos[child_path]
                    self.problems.append(
                        Problem(
                            self.display,
                            km.line + 1,
                            km.column + 1,
                            _dotted(child_path),
                            f"duplicate key '{key}' (first defined at line {first[0]})",
                        )
                    )
                    continue
                self.key_pos[child_path] = (km.line + 1, km.column + 1)
                result[key] = self.build(value_node, child_path, depth + 1)
            return result
        raise _TooBig(f"unsupported YAML node {type(node).__name__}", mark)


_YAML_TAG = "tag:yaml.org,2002:"
# What plain YAML resolves to, written or implicit (`!!str 42` is as good as `"42"`).
_PLAIN_TAGS = frozenset(
    _YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


dotted = _dotted
