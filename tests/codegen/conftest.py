"""Fixtures for the generated-program tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; browser tests skip without it unless SCRIPTEXEC_REQUIRE_BROWSER=1."""
    if CHROMIUM.exists() or shutil.which(str(CHROMIUM)):
        return CHROMIUM
    if os.environ.get("SCRIPTEXEC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} is missing and SCRIPTEXEC_REQUIRE_BROWSER=1")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped")
