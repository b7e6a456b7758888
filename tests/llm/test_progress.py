"""Progress while a model works: the stage, the seconds waited, the tokens so far and the
attempt, as one updating line on a terminal, a line a minute without one, and `--json`
events; refreshed by a clock, so a model still reading its prompt shows time passing."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

import scriptexec.llm.progress
import scriptexec.ui
from scriptexec.llm.progress import call_progress
from scriptexec.ui import Console, ProgressText

from .fake_ollama import FakeOllama
from .prose import SPEC, prose_project, replies


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def reports_of(seconds: float, **tokens_at: int) -> list[str]:
    seen: list[str] = []
    with call_progress(
        seen.append, spec="s", stage="generate", task="step x", attempt=2, attempts=3
    ) as on_tokens:
        time.sleep(seconds)
        for count in tokens_at.values():
            on_tokens(count)
    return seen


def test_the_clock_refreshes_the_line_without_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scriptexec.llm.progress, "TICK_SECONDS", 0.05)
    seen = reports_of(0.3, first=7)
    assert len(seen) >= 4  # the start, some ticks while nothing arrived, the token
    assert seen[0] == "s: generate: step x, attempt 2 of 3: 0s, 0 tokens so far"
    assert seen[-1].endswith("7 tokens so far")
    assert isinstance(seen[-1], ProgressText)
    assert seen[-1].fields == {
        "spec": "s",
        "stage": "generate",
        "task": "step x",
        "attempt": 2,
        "attempts": 3,
        "seconds": 0,
        "tokens": 7,
    }


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    err = Terminal()
    console = Console(out=io.StringIO(), err=err)
    console.progress("waiting: 1s")
    console.progress("waiting: 2s")
    console.line("done")
    assert err.getvalue() == "\r\033[Kwaiting: 1s\r\033[Kwaiting: 2s\r\033[K"


def test_without_a_terminal_a_line_only_after_a_quiet_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    console = Console(out=io.StringIO(), err=err)
    console.progress("too soon")
    assert err.getvalue() == ""
    monkeypatch.setattr(scriptexec.ui, "HEARTBEAT_SECONDS", 0.05)
    time.sleep(0.06)
    console.progress("still waiting: 61s")
    console.progress("still waiting: 62s")  # the minute starts again
    assert err.getvalue() == "still waiting: 61s\n"


def test_json_events_carry_the_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scriptexec.ui, "HEARTBEAT_SECONDS", 0)
    out = io.StringIO()
    console = Console(out=out, err=io.StringIO(), json_events=True)
    console.progress(ProgressText("s: generate: 3s", stage="generate", seconds=3))
    assert json.loads(out.getvalue()) == {
        "event": "progress",
        "text": "s: generate: 3s",
        "stage": "generate",
        "seconds": 3,
    }


@pytest.mark.parametrize("as_json", [False, True], ids=["log", "json"])
def test_a_slow_model_shows_progress_in_a_build_log(
    tmp_path: Path,
    fake_ollama: FakeOllama,
    cli,
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    monkeypatch.setattr(scriptexec.ui, "HEARTBEAT_SECONDS", 0.5)
    monkeypatch.setattr(scriptexec.llm.progress, "TICK_SECONDS", 0.1)
    fake_ollama.chunk_size, fake_ollama.chunk_delay = 40, 0.12  # over a second a reply
    fake_ollama.script(*[replies()] * 9)
    project = prose_project(tmp_path, fake_ollama.url)
    args = ["build", SPEC, "--until", "generate", *(["--json"] if as_json else [])]
    result = cli(*args, cwd=project)
    if as_json:
        events = [json.loads(line) for line in result.stdout.splitlines()]
        waits = [e for e in events if e["event"] == "progress" and "tokens" in e]
        assert waits, result.stdout
        assert {e["stage"] for e in waits} == {"generate"}
        assert {(e["attempt"], e["attempts"]) for e in waits} == {(1, 3)}
        assert any(e["seconds"] >= 1 for e in waits)
    else:
        lines = [line for line in result.stderr.splitlines() if "tokens so far" in line]
        assert lines, result.output
        assert all(line.startswith("tenant_risk: generate: step risk_") for line in lines)
        assert any(", attempt 1 of 3: 1s, " in line for line in lines), lines
