"""Settings with literal defaults: the environment decides, the code only defaults."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PORT = 8080
HOST = os.getenv("HOST", "127.0.0.1")
PORT = int(os.getenv("PORT", str(DEFAULT_PORT)))
DATABASE_URL = os.getenv("DATABASE_URL", "sqlite:///data/app.db")
API_BASE_URL = os.environ.get("API_BASE_URL", "http://localhost:9000")
API_TOKEN = os.environ.get("API_TOKEN", "")
OUTPUT_DIR = Path(os.getenv("OUTPUT_DIR", "results"))
TIMEOUT_SECONDS = float(os.getenv("TIMEOUT_SECONDS", "30"))


def db_password() -> str:
    return os.environ["DB_PASSWORD"]
