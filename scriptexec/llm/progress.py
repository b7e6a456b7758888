"""What a person sees while a model works: the stage, what is asked, which attempt, the
seconds waited and the tokens received so far.

A small model on a CPU can think about a prompt for a minute before its first token, so
the line is refreshed every second by a clock of its own, not only when a token arrives.
How it shows (one updating line on a terminal, a line a minute in a log, `--json` events)
is the console's business: this only reports, through the stage's `progress`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from scriptexec.ui import ProgressText

TICK_SECONDS = 1.0  # how often the waiting line is refreshed without a new token


class CallProgress:
    """One LLM call's progress; `tokens` is the provider's on_progress callback."""

    def __init__(
        self,
        report: Callable[[str], None],
        *,
        spec: str,
        stage: str,
        task: str,
        attempt: int,
        attempts: int,
    ) -> None:
        self._report = report
        self._facts = {
            "spec": spec,
            "stage": stage,
            "task": task,
            "attempt": attempt,
            "attempts": attempts,
        }
        self._started = time.monotonic()
        self._tokens = 0

    def tokens(self, received: int) -> None:
        self._tokens = received
        self.show()

    def show(self) -> None:
        seconds = int(time.monotonic() - self._started)
        f = self._facts
        text = (
            f"{f['spec']}: {f['stage']}: {f['task']}, attempt {f['attempt']} of "
            f"{f['attempts']}: {seconds}s, {self._tokens} tokens so far"
        )
        self._report(ProgressText(text, **f, seconds=seconds, tokens=self._tokens))


@contextmanager
def call_progress(
    report: Callable[[str], None],
    *,
    spec: str,
    stage: str,
    task: str,
    attempt: int,
    attempts: int,
) -> Iterator[Callable[[int], None]]:
    """Report a call from its start until it returns; yields the on_progress callback."""
    progress = CallProgress(
        report, spec=spec, stage=stage, task=task, attempt=attempt, attempts=attempts
    )
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK_SECONDS):
            progress.show()

    clock = threading.Thread(target=tick, name="llm-progress", daemon=True)
    progress.show()
    clock.start()
    try:
        yield progress.tokens
    finally:
        done.set()
        clock.join()
