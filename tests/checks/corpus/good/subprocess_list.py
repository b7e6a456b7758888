"""Compress an output file with gzip, passing arguments as a list."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def compress(path: Path) -> Path:
    gzip = shutil.which("gzip")
    if gzip is None:
        raise RuntimeError("gzip is not installed")
    subprocess.run([gzip, "--keep", "--force", str(path)], check=True, timeout=60)
    log.info("compressed %s", path)
    return path.with_suffix(path.suffix + ".gz")
