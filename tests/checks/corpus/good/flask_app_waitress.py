"""A small dashboard: Flask app served by waitress, every setting from the environment."""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, jsonify
from waitress import serve

log = logging.getLogger("dashboard")

HOST = os.getenv("HOST", "127.0.0.1")  # the container sets HOST=0.0.0.0
PORT = int(os.getenv("PORT", "8080"))
SECRET_KEY = os.environ.get("SECRET_KEY", "")

app = Flask(__name__)
app.config["SECRET_KEY"] = SECRET_KEY


@app.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


def main() -> None:
    logging.basicConfig(level=os.getenv("LOG_LEVEL", "INFO"))
    log.info("serving on %s:%d", HOST, PORT)
    serve(app, host=HOST, port=PORT)


if __name__ == "__main__":
    main()
