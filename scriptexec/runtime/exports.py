"""Export sets: after each run, a dated copy of its results to share (EXPORTS_DIR), the
newest EXPORTS_KEEP sets of the program kept.

A set is NAME-YYYYmmdd-HHMMSS-microseconds[-counter] with .csv (every row), .json (the
whole result) and .html (the report). The files the run already wrote under OUTPUT_DIR
are reused, hard-linked or copied, rather than written a second time.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError
from .files import link_or_copy, write_text
from .logs import log
from .report import report_html
from .rowfiles import copy_rows, write_document
from .settings import setting

if TYPE_CHECKING:
    from .execute import Result

EXPORT_SUFFIXES = (".csv", ".json", ".html")
WHOLE_NUMBER = re.compile(r"[0-9]+")


def exports_keep() -> int:
    """EXPORTS_KEEP: how many sets to keep; 0 writes none (and removes none)."""
    raw = setting("EXPORTS_KEEP", "5")
    if not WHOLE_NUMBER.fullmatch(raw):
        raise UsageError(f"EXPORTS_KEEP={raw}: expected a whole number of export sets (0 or more)")
    return int(raw)


def export_name(program: str) -> re.Pattern[str]:
    """An export set's file names (names without microseconds are older versions' sets,
    pruned like the others)."""
    return re.compile(
        re.escape(program)
        + r"-([0-9]{8}-[0-9]{6})(?:-([0-9]{6}))?(?:-([0-9]+))?\.(?:csv|json|html)"
    )


def write_exports(
    result: Result, directory: Path, keep: int, written: Mapping[str, Path], limit: int
) -> list[Path]:
    """A new export set named after this moment, then all but the newest `keep` sets of
    this program removed (other files in `directory` stay). `written` are the outputs
    this run wrote ({"results.csv": path, ...}); `limit` is the report's REPORT_ROWS."""
    directory.mkdir(parents=True, exist_ok=True)
    stem, claim = claim_export_name(directory, result.program.name)
    paths = [directory / f"{stem}{suffix}" for suffix in EXPORT_SUFFIXES]
    csv_path, json_path, html_path = paths
    try:
        if "results.csv" in written:
            link_or_copy(written["results.csv"], csv_path)
        else:
            copy_rows(result, csv_path, "csv")
        write_document(result, json_path, written.get("results.json"))
        # A report cut at `limit` rows names the file with all of them: here, the set's own
        # CSV. One that shows every row says nothing of the kind and can be shared.
        if "report.html" in written and result.row_count <= limit:
            link_or_copy(written["report.html"], html_path)
        else:
            write_text(html_path, report_html(result, limit, csv_path.name))
    finally:
        claim.unlink()
    prune_exports(directory, keep, result.program.name)
    return paths


def claim_export_name(directory: Path, program: str) -> tuple[str, Path]:
    """A set name no other run uses: the time to the microsecond, and a counter after it
    should two runs meet in the same one. Each run holds its name by a hidden claim file
    made with O_EXCL while it writes the set, so that no run overwrites another's."""
    now = time.time()
    moment = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    stamp = f"{program}-{moment}-{int(now % 1 * 1_000_000):06d}"
    number = 0
    while True:
        number += 1
        stem = stamp if number == 1 else f"{stamp}-{number}"
        claim = directory / f".{stem}.claim"
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            log.debug("export set %s is being written by another run", stem)
            continue
        if not any((directory / f"{stem}{s}").exists() for s in EXPORT_SUFFIXES):
            return stem, claim
        claim.unlink()  # a set of this name was written before (the clock went back)


def prune_exports(directory: Path, keep: int, program: str) -> None:
    """Remove the files of all but the newest `keep` export sets of `program`."""
    pattern = export_name(program)
    sets: dict[tuple[str, str, int], list[Path]] = {}
    for path in directory.iterdir():
        found = pattern.fullmatch(path.name)
        if found:
            moment, micros, number = found.group(1, 2, 3)
            key = (moment, micros or "", int(number or 1))
            sets.setdefault(key, []).append(path)
    for key in sorted(sets)[:-keep]:
        for path in sets[key]:
            path.unlink(missing_ok=True)  # a run at the same time may have removed it
