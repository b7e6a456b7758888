"""Settings, documented.

DATABASE_URL   e.g. postgresql://user:pass@localhost:5432/sales
API_TOKEN      the token the rates service issued (never written in code)
"""

from __future__ import annotations

import os


class SettingsError(Exception):
    pass


def database_url() -> str:
    url = os.getenv("DATABASE_URL", "")
    if not url:
        raise SettingsError("DATABASE_URL is not set; see the module docstring")
    return url


def check_password(password: str) -> None:
    if len(password) < 12:
        raise SettingsError("password must have at least 12 characters")
