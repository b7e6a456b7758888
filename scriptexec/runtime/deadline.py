"""TIME_LIMIT: seconds a batch run may take, and what it was doing when they ran out.

The run names its phase as it goes (reading the inputs, computing the rows, the summary,
a prose step...). When the time is over, a watchdog thread prints the standard
`Timeout (H:MM:SS)!` line, then `while <phase>`, and ends the program with exit code 1:
the test stage reads those two lines to say which part of the spec was too slow. A
thread can do that while the main thread waits inside a DuckDB query (which releases
the interpreter); for Python code stuck inside one C call that holds it (a prose step's
`sum(range(10 ** 15))`), faulthandler's own C thread ends the program a second later,
with every thread's stack, whose innermost `step_` function names the step.
"""

from __future__ import annotations

import datetime
import faulthandler
import math
import os
import sys
import threading

from .errors import UsageError
from .settings import setting

_phase = "starting"
BACKSTOP = 1.0  # seconds after the limit for faulthandler's exit


def phase(text: str) -> None:
    """What the run is doing now, in words for the timeout message."""
    global _phase
    _phase = text


def start_from_setting() -> None:
    text = setting("TIME_LIMIT", "")
    if not text:
        return
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"TIME_LIMIT={text}: expected a number of seconds above 0")
    timer = threading.Timer(seconds, _expire, args=(seconds,))
    timer.daemon = True
    timer.start()
    faulthandler.dump_traceback_later(seconds + BACKSTOP, exit=True)


def _expire(seconds: float) -> None:
    shown = datetime.timedelta(seconds=round(seconds, 3))
    doing = _phase
    step = _step_running()
    if step:
        doing = f"in the prose step {step}"
    sys.stderr.write(f"Timeout ({shown})!\nwhile {doing}\n")
    sys.stderr.flush()
    os._exit(1)  # the main thread may be inside a query: no cleanup to wait for


def _step_running() -> str | None:
    """The prose step the main thread is inside, if any (its function is step_<name>)."""
    main = threading.main_thread().ident
    frame = sys._current_frames().get(main or -1)
    while frame is not None:
        name = frame.f_code.co_name
        if name.startswith("step_"):
            return name[len("step_") :]
        frame = frame.f_back
    return None
