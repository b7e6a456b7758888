"""Constants that look random but are not secrets: digests, ids, names of settings."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

DATASET_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EXPECTED_MD5 = "5d41402abc4b2a76b9719d911017c592"
TEMPLATE_COMMIT = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
NAMESPACE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
REPORT_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
PASSWORD_HASH_SCHEME = "pbkdf2_sha256"
ADMIN_PASSWORD_HASH = "pbkdf2_sha256$600000$Zx1Yq8mT4bW2$kLkqF9cG0dJ3sN7pR2vX6zB1hM5tY8wE4aQ0uI3oP9s="
API_KEY_HEADER = "X-API-Key"
PASSWORD_ENV = "DB_PASSWORD"
TOKEN_TYPE = "bearer"
MAX_TOKENS = 256
PASSWORD_MIN_LENGTH = 12
LABELS = {"password": "Password", "username": "User name"}
ERRORS = {"password": "is required"}
FIELDS = {"api_key": "${API_KEY}", "token": "{token}"}


def verify(path: Path) -> bool:
    return hashlib.sha256(path.read_bytes()).hexdigest() == DATASET_SHA256
