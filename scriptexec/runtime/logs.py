"""Logging: readable lines on stderr, JSON lines in LOG_DIR/<program>.log (rotated)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Any

from .errors import UsageError
from .settings import positive_setting, resolve, setting

log = logging.getLogger("program")


class JsonLines(logging.Formatter):
    """One JSON object per line: easy to grep, easy to ship to a log store."""

    def __init__(self, program: str) -> None:
        super().__init__()
        self.program = program

    def format(self, record: logging.LogRecord) -> str:
        moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{moment}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "program": self.program,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "data", {}))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class Console(logging.Formatter):
    """One readable line per message: tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info = record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


def setup_logging(program: str) -> Path | None:
    """Readable lines on stderr, JSON lines in LOG_DIR/<program>.log (returned), rotated
    at LOG_MAX_BYTES with LOG_BACKUPS old files kept: a server logs every request, and a
    log that only grows fills the volume sooner or later."""
    level_name = setting("LOG_LEVEL", "INFO").upper()
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        raise UsageError(f"LOG_LEVEL={level_name}: use DEBUG, INFO, WARNING or ERROR")
    max_bytes = positive_setting("LOG_MAX_BYTES", 1024 * 1024)
    # At least one: with none, RotatingFileHandler reopens the same file forever.
    backups = positive_setting("LOG_BACKUPS", 3)
    log.setLevel(level)
    log.propagate = False
    log.handlers.clear()
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(Console("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    log.addHandler(console)
    log_file = resolve(setting("LOG_DIR", "logs")) / f"{program}.log"
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("cannot write the log file %s (%s): stderr only", log_file, exc)
        return None
    handler.setFormatter(JsonLines(program))
    log.addHandler(handler)
    return log_file
