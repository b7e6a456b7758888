"""Hostile input gets a clear one-line error, quickly and in bounded memory."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from scriptexec.errors import SpecError
from scriptexec.spec.model import load_spec


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path, path.name)
    return [str(p) for p in info.value.problems]


def test_billion_laughs_is_stopped(tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    msgs = problems(path)
    assert len(msgs) == 1 and "alias bomb" in msgs[0]
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 200, f"loading the bomb grew memory by {grown_mb:.0f} MB"


# 100 levels is past scriptexec's limit (64) only; 5,000 is past libyaml's own (1,000 in
# PyYAML 6.0.4's wheels), which then stops the parser first. Both say the same thing.
@pytest.mark.parametrize(
    "text",
    [
        "version: " + "[" * 100 + "]" * 100 + "\n",
        "version: " + "[" * 5000 + "]" * 5000 + "\n",
        "version: " + "{a: " * 5000 + "}" * 5000 + "\n",
        "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n",
    ],
    ids=["flow-100", "flow-5000", "flow-mapping-5000", "block-200"],
)
def test_deep_nesting_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    (msg,) = problems(path)
    assert msg.startswith("deep.yaml:")
    assert msg.endswith(": <root>: document is nested deeper than 64 levels")


def test_deep_nesting_is_refused_by_the_pure_python_parser_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without libyaml (a platform with no wheel), PyYAML's own parser has no depth limit.
    import yaml

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    path = tmp_path / "deep.yaml"
    path.write_text("version: " + "[" * 5000 + "]" * 5000 + "\n")
    (msg,) = problems(path)
    assert msg.endswith(": <root>: document is nested deeper than 64 levels")


def test_fifty_megabyte_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: costs no disk
    (msg,) = problems(path)
    assert msg == "huge.yaml:1:1: <root>: file is 52.4 MB; a spec may be at most 1 MiB"


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    (msg,) = problems(tmp_path / "a.yaml")
    assert "cannot read file" in msg and "symbolic links" in msg


def test_validate_dir_with_symlink_loop_terminates(tmp_path: Path, cli) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "loop").symlink_to(specs)  # a directory loop: not followed
    (specs / "x.yaml").symlink_to(specs / "x.yaml")  # a file that links to itself
    result = cli("validate", cwd=tmp_path, expect=2)
    assert "specs/x.yaml:1:1: <root>: cannot read file" in result.output


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    (msg,) = problems(tmp_path / "pipe.yaml")
    assert msg.endswith("not a regular file")


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"\xff\xfe\x00v", "invalid UTF-8 byte 0xff"),
        (b"version: 1\x00\n", "NUL byte"),
        (b"version: 1\nname: \x07bell\n", "YAML syntax error"),
        (b"\xef\xbb\xbf", "file is empty"),
        (b"   \n\n", "file is empty"),
        (b"[1, 2", "YAML syntax error"),
        (b"!!python/object:os.system ls", "YAML"),
    ],
)
def test_odd_bytes(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_bytes(raw)
    msgs = problems(path)
    assert any(expected in m for m in msgs), msgs


@pytest.mark.parametrize(
    "value, tag",
    [
        ('!!python/object/apply:os.system ["echo pwned"]', "!!python/object/apply:os.system"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        (
            "!!python/object:collections.OrderedDict {a: 1}",
            "!!python/object:collections.OrderedDict",
        ),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!custom {a: 1}", "!custom"),
    ],
)
def test_yaml_tags_are_named_when_refused(tmp_path: Path, value: str, tag: str) -> None:
    path = tmp_path / "tagged.yaml"
    path.write_text(f"version: 1\nname: {value}\n")
    (msg,) = problems(path)
    assert msg == (
        f"tagged.yaml:2:7: name: YAML tag '{tag}' is not allowed in specs"
        " (only plain values, lists and mappings)"
    )


def test_explicit_plain_tags_are_fine(tmp_path: Path) -> None:
    from scriptexec.spec.yamlload import load_yaml

    located, errors = load_yaml("a: !!str 42\nb: !!int '7'\nc: !!map {x: !!seq [1]}\n", "t.yaml")
    assert errors == [] and located is not None
    assert located.data == {"a": "42", "b": 7, "c": {"x": [1]}}
