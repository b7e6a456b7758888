# expect: SEC011
from flask import Flask
from waitress import serve

app = Flask(__name__)


def main() -> None:
    serve(app, listen="*:8080")
