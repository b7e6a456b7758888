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


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused(tmp_path: Path, style: str) -> None:
    path = tmp_path / "deep.yaml"
    if style == "flow":
        path.write_text("version: " + "[" * 5000 + "]" * 5000 + "\n")
    else:
        path.write_text("".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n")
    (msg,) = problems(path)
    assert "nested" in msg and msg.startswith("deep.yaml:")


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
