# expect: SEC005
import os
from pathlib import Path


def compress(path: Path) -> None:
    os.system(f"gzip -k {path}")
