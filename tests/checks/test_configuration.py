"""Settings come from the environment; literal defaults inside getenv are fine."""

from __future__ import annotations

import pytest

from .helpers import check, codes


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("redis.Redis(host='localhost')", "CFG001"),
        ("app.run(host='127.0.0.1')", "CFG001"),
        ("serve(app, port=8080)", "CFG002"),
        ("connect(port='5432')", "CFG002"),
        ("open('/etc/app/config.ini')", "CFG003"),
        ("from pathlib import Path\nPath('data/input.csv').read_text()", "CFG003"),
        ("import sqlite3\nsqlite3.connect('app.db')", "CFG003"),
        ("df.to_csv('results.csv')", "CFG003"),
        ("import logging\nlogging.basicConfig(filename='app.log')", "CFG003"),
        ("import urllib.request\nurllib.request.urlopen('http://example.com/x.csv')", "CFG004"),
        ("import httpx\nhttpx.post(url='https://api.example.com/v1', json={})", "CFG004"),
        ("from sqlalchemy import create_engine\ncreate_engine('sqlite:///app.db')", "CFG004"),
        ("API_URL = 'https://api.example.com'", "CFG005"),
        ("DB_PORT = 5432", "CFG005"),
        ("self.smtp_host = 'mail.internal'", "CFG005"),
        ("app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:////data/app.db'", "CFG005"),
    ],
)
def test_fixed_settings_are_found(source: str, code: str) -> None:
    found = codes(source)
    assert code in found, f"{source!r}: expected {code}, got {sorted(found)}"


@pytest.mark.parametrize(
    "source",
    [
        "import os\nPORT = int(os.getenv('PORT', '8080'))",
        "import os\nHOST = os.environ.get('HOST', '127.0.0.1')",
        "DEFAULT_PORT = 8080",
        "OPENAPI_URL = '/openapi.json'",
        "HEALTH_PATH = '/health'",
        "from pathlib import Path\nout = Path(OUTPUT_DIR) / 'results.csv'",
        "import os\nopen(os.path.join(OUTPUT_DIR, 'summary.json'), 'w')",
        "from pathlib import Path\nPath(__file__).parent / 'templates'",
        "import sqlite3\nsqlite3.connect(':memory:')",
        "serve(app, host=HOST, port=PORT)",
        "connect(port=0)",  # an ephemeral port is not a setting
        "SCHEMA = {'$id': 'https://example.com/schema.json'}",
        "html = '<script src=\"https://cdn.example.com/chart.js\"></script>'",
    ],
)
def test_configured_settings_are_not_flagged(source: str) -> None:
    found = [i for i in check(source).issues if i.category == "configuration"]
    assert not found, "\n".join(map(str, found))


def test_configuration_findings_are_warnings() -> None:
    report = check("serve(app, host='example.com', port=80)")
    assert {i.severity for i in report.issues if i.category == "configuration"} == {"warning"}
