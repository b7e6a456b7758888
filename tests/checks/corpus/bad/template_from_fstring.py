# expect: SEC015
from flask import Flask, render_template_string, request

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    name = request.args.get("name", "world")
    return render_template_string(f"<h1>Hello {name}</h1>")
