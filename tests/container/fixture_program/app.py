"""A hand-made stand-in for a generated program: doubles the numbers of a CSV file.

`python app.py run` writes results.csv and summary.json to OUTPUT_DIR; `python app.py serve`
serves /health and /api/results with waitress. summary.json also records what the tests of
the container want to know from the inside: the user id, whether the root file system and
the network are usable. ALLOCATE_MB makes `run` allocate that much memory first.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

FACTOR = 2  # the "formula": tests edit this line to change the program


def compute() -> tuple[list[dict[str, object]], dict[str, object]]:
    location = Path(os.environ.get("NUMBERS_LOCATION", "data/numbers.csv"))
    with location.open(newline="", encoding="utf-8") as f:
        rows = [
            {"id": r["id"], "value": float(r["value"]), "doubled": float(r["value"]) * FACTOR}
            for r in csv.DictReader(f)
        ]
    return rows, {"total": sum(float(r["doubled"]) for r in rows), "rows": len(rows)}


def root_writable() -> bool:
    try:
        with open("/app/.probe", "w", encoding="utf-8") as f:
            f.write("x")
    except OSError:
        return False
    os.remove("/app/.probe")
    return True


def network_usable() -> bool:
    try:
        with socket.create_connection(("192.0.2.1", 9), timeout=0.5):
            return True
    except OSError as exc:
        # With no network at all there is no route; anything else means there is one.
        return exc.errno not in (101, 99)  # ENETUNREACH, EADDRNOTAVAIL


def run() -> int:
    out = Path(os.environ.get("OUTPUT_DIR", "results"))
    logs = Path(os.environ.get("LOG_DIR", "logs"))
    out.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=logs / "app.log", level=logging.INFO)
    hog = bytearray(int(os.environ.get("ALLOCATE_MB", "0")) * 1024 * 1024)
    for i in range(0, len(hog), 4096):
        hog[i] = 1  # touch every page: untouched pages cost no memory
    rows, summary = compute()
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "value", "doubled"])
        writer.writeheader()
        writer.writerows(rows)
    summary.update(uid=os.getuid(), root_writable=root_writable(), network=network_usable())
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    logging.info("wrote %d rows", len(rows))
    print(f"wrote {len(rows)} rows to {out}")
    return 0


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        body, status = {"status": "ok"}, "200 OK"
    elif path == "/api/results":
        rows, summary = compute()
        body, status = {"rows": rows, "summary": summary}, "200 OK"
    else:
        body, status = {"error": "not found"}, "404 Not Found"
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json")])
    return [data]


def serve() -> int:
    import waitress

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    print(f"serving on http://{host}:{port}/", flush=True)
    waitress.serve(application, host=host, port=port)
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    sys.exit(run() if command == "run" else serve())
