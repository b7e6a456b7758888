"""Read the properties CSV named by PROPERTIES_PATH, row by row."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def properties_path() -> Path:
    return Path(os.getenv("PROPERTIES_PATH", "data/properties.csv"))


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            if not row.get("property_id"):
                log.warning("%s:%d: no property_id, skipped", path, number)
                continue
            yield row
