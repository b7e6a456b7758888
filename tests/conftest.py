"""Fixtures shared by every test.

- Every test gets its own cache dir and HOME, and a test that writes into the real
  project's .scriptexec/ fails loudly (as pre-commit's conftest guards the user's store).
- `tree` builds a file tree from a dict (as DVC's tmp_dir does).
- `cli` runs the command line through click's CliRunner and prints the output when the
  exit code is not the expected one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scriptexec.cli import cli as cli_group

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SCRIPTEXEC_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    # The machine's LLM settings and proxies must not reach a test's builds.
    llm = ("LLM_BASE_URL", "LLM_MODEL_NAME", "LLM_TEMPERATURE")
    llm += tuple(f"SCRIPTEXEC_LLM_{key}" for key in ("PROVIDER", "MODEL", "HOST", "TEMPERATURE"))
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    for var in ("OLLAMA_HOST", "OPENAI_BASE_URL", "SCRIPTEXEC_BASE_IMAGE", *llm, *proxies):
        monkeypatch.delenv(var, raising=False)
    before = _snapshot(REPO / ".scriptexec")
    yield
    after = _snapshot(REPO / ".scriptexec")
    assert after == before, "a test wrote into the repository's own .scriptexec/"


def _snapshot(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {str(p) for p in path.rglob("*")}


def write_tree(root: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        path = root / name
        if isinstance(content, dict):
            path.mkdir(parents=True, exist_ok=True)
            write_tree(path, content)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def make(files: dict[str, Any]) -> Path:
        write_tree(tmp_path, files)
        return tmp_path

    return make


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project holding copies of the shipped specs and their data."""
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    return tmp_path


CliFn = Callable[..., Result]


@pytest.fixture
def cli() -> CliFn:
    def run(
        *args: str, cwd: Path | None = None, expect: int | None = 0, input: str | None = None
    ) -> Result:
        argv = [str(a) for a in args]
        if cwd is not None:
            argv = ["-C", str(cwd), *argv]
        result = CliRunner().invoke(cli_group, argv, input=input, catch_exceptions=False)
        if expect is not None and result.exit_code != expect:
            print(result.output)  # shown by pytest on failure
            raise AssertionError(
                f"scriptexec {' '.join(argv)}: exit {result.exit_code}, expected {expect}"
            )
        return result

    return run


def shipped_spec_names() -> list[str]:
    return sorted(p.stem for p in (REPO / "specs").glob("*.yaml"))


os.environ.setdefault("SCRIPTEXEC_TESTING", "1")
