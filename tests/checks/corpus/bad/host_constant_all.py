# expect: SEC011
import os
from wsgiref.simple_server import make_server

HOST = "0.0.0.0"


def serve(app) -> None:
    make_server(HOST, int(os.environ["PORT"]), app).serve_forever()
