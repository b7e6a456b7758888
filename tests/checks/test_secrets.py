"""Credentials by format and by name; digests, ids, labels and references left alone."""

from __future__ import annotations

import pytest

from scriptexec.checks import check_program
from scriptexec.checks.secrets import (
    credential_name,
    hinted_name,
    looks_random,
    scan_text,
    shannon_entropy,
)

from .helpers import check, codes


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("KEY_ID = 'AKIAIOSFODNN7EXAMPLE'", "SEC101"),
        ("PEM = b'-----BEGIN OPENSSH PRIVATE KEY-----\\n'", "SEC102"),
        ("t = 'xoxb-123456789012-abcdefghijkl'", "SEC103"),
        ("STRIPE = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'", "SEC103"),
        ("HF = 'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH'", "SEC103"),
        (
            "JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N'",
            "SEC103",
        ),
        ("x = f'key AKIAIOSFODNN7EXAMPLE for {user}'", "SEC101"),
        ("# old key: AKIAIOSFODNN7EXAMPLE\nx = 1", "SEC101"),
        ("URL = 'mysql://root:toor@localhost/db'", "SEC105"),
        ("conn = connect(f'redis://:p4ss@{host}:6379/0')", "SEC105"),
        ("password = 'hunter2'", "SEC104"),
        ("self.api_key = 'abc123'", "SEC104"),
        ("config['client_secret'] = 'c9f1'", "SEC104"),
        ("login(user='a', passwd='x1')", "SEC104"),
        ("def connect(password: str = 'admin') -> None: ...", "SEC104"),
        ("def connect(*, token: str = 'dev') -> None: ...", "SEC104"),
        ("if token == 'let-me-in':\n    pass", "SEC104"),
        ("import os\nos.environ.setdefault('DB_PASSWORD', 'postgres')", "SEC104"),
        ("h = {'X-API-Key': 'k-1234'}", "SEC104"),
        ("h = {'Authorization': 'Basic dXNlcjpwYXNz'}", "SEC104"),
        ("SESSION_SALT = 'f3Kp9QzL2mV8xR4tB7nW1cY6'", "SEC106"),
        ("webhook_signing_secret_value = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6'", "SEC106"),
    ],
)
def test_credentials_are_found(source: str, code: str) -> None:
    found = codes(source)
    assert code in found, f"{source!r}: expected {code}, got {sorted(found)}"


@pytest.mark.parametrize(
    "source",
    [
        "password = ''",
        "password = os.environ['PASSWORD']",
        "password = '${DB_PASSWORD}'",
        "password = '%(password)s'",
        "password = '<your password>'",
        "password = '********'",
        "PASSWORD_VAR = 'DB_PASSWORD'",
        "password = 'DB_PASSWORD'",  # an environment variable's name, not its value
        "password_hash = 'pbkdf2_sha256$1$abc$def'",
        "token_url = 'https://auth.example.com/token'",
        "max_tokens = 512",
        "prompt = {'password': 'Enter your password'}",
        "labels = {'token': 'Token'}",
        "cache_key = 'results:v1:summary'",
        "primary_key = 'property_id'",
        "public_key_pem = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'",
        "session_id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'",
        "signing_key_sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
        "url = f'postgresql://{user}:{password}@{host}/{db}'",
        "url = 'postgresql://{user}:{password}@{host}/{db}'.format(**cfg)",
        "url = 'postgresql://user@localhost/db'",
        '"""Set DATABASE_URL, e.g. postgresql://user:pass@localhost/db."""',
    ],
)
def test_non_credentials_are_not_flagged(source: str) -> None:
    found = [i for i in check(source).issues if i.category == "secrets"]
    assert not found, "\n".join(map(str, found))


def test_message_does_not_repeat_the_secret() -> None:
    report = check("DB_PASSWORD = 'correct-horse-battery'")
    (issue,) = report.issues
    assert "correct-horse-battery" not in issue.message
    assert "corr..." in issue.message


def test_entropy_separates_keys_from_words() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert looks_random("q8Zr2LmV0xT4nB7cYw1KpE3s")
    assert looks_random("9f86d081884c7d659a2feaa0c55ad015")
    assert not looks_random("correct_horse_battery_staple")  # one character class
    assert not looks_random("Summer2024")  # too short to judge
    assert not looks_random("aaaaaaaaaaaaaaaaaaaa1")
    assert not looks_random("results:v1:summary:2024-01-01")  # not token characters
    assert not looks_random("6ba7b810-9dad-11d1-80b4-00c04fd430c8")  # a UUID: an identifier


def test_names() -> None:
    assert credential_name("DB_PASSWORD") and credential_name("apiKey")
    assert credential_name("X-API-Key") and credential_name("githubToken")
    assert credential_name("password2")
    assert not credential_name("password_hash") and not credential_name("token_type")
    assert not credential_name("sort_key") and not credential_name("")
    assert hinted_name("stripe_key") and hinted_name("cookieSalt")
    assert not hinted_name("key_sha256") and not hinted_name("request_id")


def test_text_files_are_scanned_for_fixed_formats_only() -> None:
    text = "DATABASE_URL=postgresql://user:pass@db/app\nAWS_KEY=AKIAIOSFODNN7EXAMPLE\n"
    (issue,) = scan_text(text, ".env.example")
    assert (issue.file, issue.line, issue.code) == (".env.example", 2, "SEC101")


def test_program_text_files_are_scanned() -> None:
    files = {
        "app.py": b"x = 1\n",
        "deploy.sh": b"export GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n",
    }
    report = check_program(files, lint=False)
    assert [(i.file, i.code) for i in report.issues] == [("deploy.sh", "SEC103")]
    assert not report.passed
