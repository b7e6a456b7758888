"""Write results under OUTPUT_DIR."""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def output_dir() -> Path:
    path = Path(os.getenv("OUTPUT_DIR", "results"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def write(rows: list[dict[str, Any]], summary: dict[str, Any]) -> list[Path]:
    out = output_dir()
    results = out / "results.csv"
    with results.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=sorted(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    log.info("wrote %s and %s", results, summary_path)
    return [results, summary_path]
