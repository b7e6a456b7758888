"""Dangerous code is found however it is spelt; look-alikes are left alone."""

from __future__ import annotations

import pytest

from .helpers import check, codes


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("eval(x)", "SEC001"),
        ("import builtins\nbuiltins.eval(x)", "SEC001"),
        ("from builtins import eval as ev\nev(x)", "SEC001"),
        ("f = eval\nf(x)", "SEC001"),
        ("g = eval\nh = g\nh(x)", "SEC001"),
        ("sorted(rows, key=eval)", "SEC001"),
        ("vars(__import__('builtins'))['eval'](x)", "SEC001"),
        ("getattr(__builtins__, 'ex' + 'ec')(x)", "SEC002"),
        ("import importlib\nimportlib.import_module('builtins').exec(x)", "SEC002"),
        ("__import__('os').system('ls')", "SEC005"),
        ("import os\ngetattr(os, 'system')('ls')", "SEC005"),
        ("import os\ngetattr(os, name)('ls')", "SEC004"),
        ("import os.path\nos.popen('ls')", "SEC005"),
        ("import asyncio\nasyncio.create_subprocess_shell(cmd)", "SEC005"),
        ("from subprocess import Popen\nPopen(cmd, shell=True)", "SEC006"),
        ("import subprocess\nsubprocess.call(cmd, shell=use_shell)", "SEC006"),
        ("import yaml\nyaml.load(s, yaml.FullLoader)", "SEC007"),
        ("import yaml\nyaml.load_all(s)", "SEC007"),
        ("import yaml\nyaml.full_load(s)", "SEC007"),
        ("from pickle import Unpickler\nUnpickler(f).load()", "SEC008"),
        ("import dill\ndill.loads(b)", "SEC008"),
        ("import jsonpickle\njsonpickle.decode(s)", "SEC008"),
        ("app.debug = True", "SEC009"),
        ("app.config.update(DEBUG=True)", "SEC009"),
        ("import os\nos.environ['FLASK_DEBUG'] = '1'", "SEC009"),
        (
            "from werkzeug.serving import run_simple\nrun_simple(h, p, app, use_debugger=True)",
            "SEC009",
        ),
        ("import pdb\npdb.set_trace()", "SEC010"),
        ("app.run('0.0.0.0')", "SEC011"),
        ("serve(app, host='::')", "SEC011"),
        ("serve(app, listen='0.0.0.0:8080')", "SEC011"),
        ("from http.server import HTTPServer\nHTTPServer(('', port), H)", "SEC011"),
        ("from tempfile import mktemp\nmktemp()", "SEC012"),
        ("session.verify = False", "SEC013"),
        ("ctx.check_hostname = False", "SEC013"),
        ("import ssl\nctx.verify_mode = ssl.CERT_NONE", "SEC013"),
        ("httpx.get(url, verify=False)", "SEC013"),
        ("cur.execute('SELECT * FROM t WHERE id = %s' % row_id)", "SEC014"),
        ("cur.executemany('INSERT INTO ' + table + ' VALUES (?)', rows)", "SEC014"),
        ("cur.execute('SELECT {} FROM t'.format(col))", "SEC014"),
        ("cur.execute(query + ' WHERE id = ' + str(row_id))", "SEC014"),
        ("q = f'DELETE FROM t WHERE id = {i}'\ncur.execute(q)", "SEC014"),
        ("import jinja2\njinja2.Template('Hi ' + name)", "SEC015"),
        ("from jinja2 import Environment\nEnvironment().from_string(f'<p>{x}</p>')", "SEC015"),
    ],
)
def test_dangerous_code_is_found(source: str, code: str) -> None:
    found = codes(source)
    assert code in found, f"{source!r}: expected {code}, got {sorted(found)}"


@pytest.mark.parametrize(
    "source",
    [
        "import re\nre.compile(r'\\d+')",
        "import ast\nast.literal_eval(s)",
        "model.eval()",
        "df.exec_query(q)",
        "def f(compile: bool) -> bool:\n    return compile",
        "def eval(x: str) -> str:\n    return x\n\neval('1')",
        "import subprocess\nsubprocess.run(['ls', '-l'], check=True, shell=False)",
        "import yaml\nyaml.safe_load(s)",
        "import yaml\nyaml.load(s, Loader=yaml.CSafeLoader)",
        "import yaml\nclass L(yaml.SafeLoader):\n    pass\n\nyaml.load(s, Loader=L)",
        "import pickle\npickle.dumps(obj)",
        "app.run(host=HOST, port=PORT)",
        "app.run(debug=os.getenv('DEBUG') == '1')",
        "app.run('')",  # an empty host means the default for Flask, not every interface
        "sock.bind((host, port))",
        "cur.execute('SELECT * FROM t WHERE id = ?', (row_id,))",
        "cur.execute('SELECT * ' 'FROM t')",
        "import tempfile\ntempfile.mkstemp()",
        "requests.get(url, verify=True, timeout=5)",
        "from flask import render_template_string\nrender_template_string(PAGE, rows=rows)",
        "log.debug('x')",
        "import asyncio\nasyncio.run(main(), debug=True)",
        "import string\nstring.Template(f'${{x}} {unit}')",
        "q = 'SELECT * FROM t'\ncur.execute(q)",
    ],
)
def test_look_alikes_are_not_flagged(source: str) -> None:
    found = {i for i in check(source).issues if i.code.startswith("SEC")}
    assert not found, "\n".join(map(str, found))


def test_issue_points_at_the_line_and_column() -> None:
    report = check("import os\n\n\ndef f() -> None:\n    x = 1; os.system('ls')\n")
    (issue,) = [i for i in report.issues if i.code == "SEC005"]
    assert (issue.file, issue.line, issue.col, issue.severity) == ("app.py", 5, 11, "error")
    assert str(issue).startswith("app.py:5: error SEC005 os.system() runs a shell command")


def test_one_reference_one_issue() -> None:
    report = check("import os\nos.system('a')\nos.system('b')\n")
    assert [i.line for i in report.issues if i.code == "SEC005"] == [2, 3]
