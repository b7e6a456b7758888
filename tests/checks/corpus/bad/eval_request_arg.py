# expect: SEC001
"""Evaluate a what-if expression sent by the dashboard."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/simulate")
def simulate() -> object:
    factor = eval(request.json["revenue_change"])
    return jsonify({"factor": factor})
