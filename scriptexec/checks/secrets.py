"""Hardcoded credentials.

Two kinds of evidence, kept apart because they fail in different ways:

1. The *value* alone (SEC101-SEC103, SEC105): formats that are credentials whatever they are
   called: AWS key ids, private key blocks, vendor tokens with fixed prefixes, URLs carrying a
   password. Checked in every string literal, comment and (for the fixed-prefix formats) in
   every text file of the program.
2. The *name* a value is stored under (SEC104, SEC106): `DB_PASSWORD = "hunter2"`,
   `headers={"Authorization": "Bearer ..."}`, `os.getenv("API_TOKEN", "dev-token")`.
   A name whose last word says the value *is* a credential (password, secret, token, api_key)
   flags any literal (SEC104). A name that only hints at one (session_key, signing_salt,
   stripe_key) flags a literal only when it also looks random by Shannon entropy (SEC106).

Why not flag every high-entropy string: entropy cannot tell a secret from a checksum, a UUID
or a test vector, and generated programs and their tests are full of those. The name says
what a value is for; a digest (`DATASET_SHA256`, `password_hash`, `expected_md5`) is public
by design, so names that say "hash/digest/checksum/id/uuid/public" are never flagged by
entropy, and names ending in "_hash" are not credential names. A credential can hide under a
neutral name (`x = "s3cr3t"`); the value formats and bandit's B105-B107 are the backstop.
Values with whitespace are messages, not credentials; "", "${VAR}", "%(var)s", "{var}",
"<placeholder>" and ENV_VAR_NAMES are references to a credential, not the credential.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from collections.abc import Iterator

from scriptexec.checks.issues import Issue
from scriptexec.checks.names import const_str, kwarg, name_of, words

PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (code, what, re.compile(rx))
    for code, what, rx in (
        ("SEC101", "an AWS access key id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
        ("SEC102", "a private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        ("SEC103", "a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})"),
        ("SEC103", "a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
        ("SEC103", "a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("SEC103", "a Slack webhook", r"hooks\.slack\.com/services/T\w+/B\w+/\w+"),
        ("SEC103", "a Stripe key", r"\b[sr]k_live_[0-9A-Za-z]{16,}"),
        ("SEC103", "a Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("SEC103", "an API key", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}"),
        ("SEC103", "a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}"),
        ("SEC103", "an npm token", r"\bnpm_[A-Za-z0-9]{36}"),
        ("SEC103", "a SendGrid key", r"\bSG\.[\w-]{22}\.[\w-]{43}"),
        ("SEC103", "a JSON web token", r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}"),
    )
)
# Bounded repeats keep the search linear on long literals (an HTML page in a constant).
CONNECTION = re.compile(
    r"\b[a-z][a-z0-9+.-]{0,20}://[^\s/:@]{0,256}:(?P<password>[^\s/@]{1,256})@", re.IGNORECASE
)


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Last words of a name that make it a credential: `db_password`, `GITHUB_TOKEN`, `apiKey`.
CREDENTIAL_WORDS = _set(
    "password passwd pwd passphrase secret token apikey credential credentials authorization"
)
CREDENTIAL_KEYS = _set("api access secret private signing encryption auth master")  # <word>_key
HINT_WORDS = _set(
    "key auth sig signature salt hmac cred creds session cookie bearer private secret token pass"
)
NOT_SECRET_WORDS = _set(
    "sha md5 hash digest checksum crc uuid guid id etag fingerprint commit version integrity "
    "public pub"  # words() splits "sha256" into "sha" and digits
)
_REFERENCE = re.compile(
    r"\$\{?\w+\}?|%\(\w+\)s|\{\w*\}|<[^<>]+>|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|(.)\1*"
)
_AUTH_SCHEME = re.compile(r"(?:Bearer|Basic|Token|token|bearer)\s+(\S+)")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_.~-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def credential_name(name: str) -> bool:
    w = words(name)
    if not w:
        return False
    return w[-1] in CREDENTIAL_WORDS or (w[-1] == "key" and len(w) > 1 and w[-2] in CREDENTIAL_KEYS)


def hinted_name(name: str) -> bool:
    w = set(words(name))
    return bool(w & HINT_WORDS) and not (w & NOT_SECRET_WORDS)


def shannon_entropy(text: str) -> float:
    """Bits per character of `text` taken as a sample of its own characters."""
    n = len(text)
    counts = (text.count(ch) for ch in set(text))
    return -sum(c / n * math.log2(c / n) for c in counts) if n else 0.0


def looks_random(text: str) -> bool:
    """Random-looking key material: long, token characters only, two character classes, and an
    entropy near the most its length and alphabet allow (English and slugs fall well short)."""
    if len(text) < 20 or not _TOKEN_CHARS.fullmatch(text) or _UUID.fullmatch(text):
        return False
    classes = sum(any(test(c) for c in text) for test in (str.islower, str.isupper, str.isdigit))
    alphabet = 16 if all(c in "0123456789abcdefABCDEF" for c in text) else 64
    return classes >= 2 and shannon_entropy(text) >= 0.8 * math.log2(min(len(text), alphabet))


def mask(text: str) -> str:
    return f"{text[:4]}..." if len(text) > 8 else "..."


def credential_value(text: str) -> str | None:
    """The part of a literal that would be a credential, or None if it is clearly not one."""
    scheme = _AUTH_SCHEME.fullmatch(text)
    if scheme:
        text = scheme.group(1)
    if not text or any(c.isspace() for c in text) or _REFERENCE.fullmatch(text):
        return None
    return text


def match_patterns(text: str, *, connection: bool = True) -> tuple[str, str] | None:
    for code, what, rx in PATTERNS:
        if rx.search(text):
            return code, f"{what} in the code; read it from the environment"
    found = CONNECTION.search(text) if connection else None
    if found and credential_value(found.group("password")):
        return "SEC105", "connection string with a password; read it from the environment"
    return None


def _named_values(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(name, value node) pairs: assignments, keywords, dict items, defaults, getenv defaults."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = name_of(target)
                if name:
                    yield name, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name = name_of(node.target)
            if name:
                yield name, node.value
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                key_text = const_str(key)
                if key_text:
                    yield key_text, value
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg:
                    yield kw.arg, kw.value
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("getenv", "get", "setdefault"):
                args = node.args
                default = args[1] if len(args) > 1 else kwarg(node, "default")
                env_name = const_str(args[0]) if args else None
                if env_name and default is not None:
                    yield env_name, default
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            a = node.args
            positional = a.posonlyargs + a.args
            with_default = positional[len(positional) - len(a.defaults) :]
            for arg, default in zip(with_default, a.defaults, strict=True):
                yield arg.arg, default
            for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
                if kw_default is not None:
                    yield arg.arg, kw_default
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            left, right = node.left, node.comparators[0]
            for side, other in ((left, right), (right, left)):
                name = name_of(side)
                if name:
                    yield name, other


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def check(tree: ast.AST, source: str, file: str) -> list[Issue]:
    issues: dict[tuple[int, int], Issue] = {}

    def add(node: ast.AST, code: str, message: str) -> None:
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        issues.setdefault((line, col), Issue(file, line, col, "error", code, message))

    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            raw = node.value
            literal = raw if isinstance(raw, str) else raw.decode("latin-1")
            found = match_patterns(literal, connection=id(node) not in docstrings)
            if found:
                add(node, *found)
    for name, value in _named_values(tree):
        text = const_str(value)
        secret = credential_value(text) if text is not None else None
        if secret is None or secret.lower() == name.lower():  # {"password": "password"}: a label
            continue
        if credential_name(name):
            msg = f"hardcoded credential {name!r} = {mask(secret)!r}"
            add(value, "SEC104", f"{msg}; read it from the environment")
        elif hinted_name(name) and looks_random(secret):
            msg = f"{name!r} holds a random-looking literal {mask(secret)!r}"
            add(value, "SEC106", f"{msg}; if it is a key, read it from the environment")
    for line, col, comment in _comments(source):
        found = match_patterns(comment, connection=False)
        if found:
            issues.setdefault((line, col), Issue(file, line, col, "error", *found))
    return list(issues.values())


def _comments(source: str) -> Iterator[tuple[int, int, str]]:
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.start[1], tok.string
    except (tokenize.TokenError, SyntaxError):  # source that ast accepted; be safe anyway
        return


def scan_text(text: str, file: str) -> list[Issue]:
    """Non-Python files (.env.example, requirements, Dockerfile): fixed-format credentials only.

    Connection strings are left out here: an example file documenting
    `DATABASE_URL=postgresql://user:pass@host/db` is documentation, not a leak.
    """
    issues = []
    for number, line in enumerate(text.splitlines(), start=1):
        found = match_patterns(line, connection=False)
        if found:
            issues.append(Issue(file, number, 0, "error", *found))
    return issues
