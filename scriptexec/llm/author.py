"""The LLM writes the functions of prose steps; this module asks, checks and repairs.

Each step's code is cached by its own key (the step's words, what it may read and must
produce, the checks, the prompts, the model and its digest), so rewording one step re-asks
for that step alone. New code is checked the way the build will check it, in the whole
program: the validate checks, then the spec's checks. What fails goes back to the model
with the errors, up to `generator.max_attempts` attempts in all; every attempt is logged
under .scriptexec/llm-attempts/, and only code that passed is cached.
"""

from __future__ import annotations

import ast
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from scriptexec.engine.cache import Cache, StageRecord, atomic_write
from scriptexec.engine.keys import dict_hash
from scriptexec.errors import BuildError, FrozenError, LLMError
from scriptexec.pyparse import parse
from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext

# Bump when the way step code is asked for or checked changes.
AUTHOR_VERSION = 1


def signature(step: dict[str, Any]) -> str:
    from scriptexec.codegen.model import step_function_name

    fn = step_function_name(step["name"])
    return f"def {fn}(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:"


def _fields_before(spec: Spec, step_name: str) -> dict[str, str]:
    """The row fields a step can read: inputs, formulas, and earlier steps' outputs."""
    r = spec.resolved
    fields = {n: t for n, t in r.fields.items()}
    fields.update({n: c.type for n, c in r.compute.items()})
    for step in spec.canonical["steps"]:
        if step["name"] == step_name:
            break
        fields.update(step["produces"])
    return fields


def _examples(spec: Spec) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "given": c["given"],
            "parameters": c["parameters"],
            "expect": {k: v for k, v in c["expect"].items() if v is not None},
        }
        for c in spec.canonical["checks"]
    ]


def step_key(spec: Spec, step: dict[str, Any], settings: dict[str, Any]) -> str:
    return dict_hash(
        {
            "author": AUTHOR_VERSION,
            "step": step,
            "title": spec.canonical["title"],
            "fields": _fields_before(spec, step["name"]),
            "parameters": spec.canonical["parameters"],
            "examples": _examples(spec),
            "settings": settings,
        }
    )


class _Author:
    def __init__(self, ctx: StageContext) -> None:
        from scriptexec.llm.stage_support import llm_inputs

        self.ctx = ctx
        self.spec = ctx.spec
        self.project = ctx.project
        self.settings = llm_inputs(self.spec, self.project, "generate")
        self.cache = Cache(self.project.cache_dir, self.project.warn)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_dir = self.project.state_dir / "llm-attempts" / self.spec.name / stamp
        self._provider: Any = None
        self.calls = 0

    @property
    def provider(self) -> Any:
        from scriptexec.llm.stage_support import provider_for

        if self._provider is None:
            self._provider = provider_for(self.ctx)
        return self._provider

    def _context(self, step: dict[str, Any]) -> dict[str, Any]:
        c = self.spec.canonical
        return {
            "task": c["title"],
            "title": c["title"],
            "name": step["name"],
            "do": step["do"],
            "signature": signature(step),
            "fields": _fields_before(self.spec, step["name"]),
            "parameters": c["parameters"],
            "produces": step["produces"],
            "examples": _examples(self.spec),
        }

    def _ask(self, prompt: str, step: dict[str, Any], **extra: Any) -> tuple[str, str]:
        """(reply, code); code is "" when the reply holds no usable function."""
        from scriptexec.llm.code import CodeError, check_function, extract_code
        from scriptexec.llm.prompts import prompt_messages
        from scriptexec.llm.stage_support import progress_callback

        messages, _ = prompt_messages(self.project, prompt, **self._context(step), **extra)
        self.calls += 1
        reply: str = self.provider.chat(
            messages,
            cancel=self.ctx.cancel,
            on_progress=progress_callback(self.ctx, f"step {step['name']}"),
        )
        try:
            code = extract_code(reply)
            check_function(code, signature(step).split("(")[0][4:], ["row", "params"])
        except CodeError as exc:
            return reply, f"# unusable reply: {exc}\n"
        return reply, code

    def write(self) -> tuple[dict[str, str], dict[str, Any]]:
        steps = {s["name"]: s for s in self.spec.canonical["steps"]}
        keys = {n: step_key(self.spec, s, self.settings) for n, s in steps.items()}
        codes: dict[str, str] = {}
        fresh: list[str] = []
        for name, key in keys.items():
            record = self.cache.get_record(key)
            files = self.cache.load_files(record) if record else None
            if files is not None:
                codes[name] = files["code.py"].decode("utf-8")
                continue
            if self.project.options.frozen:
                raise FrozenError(
                    f"{self.spec.display}: step '{name}' needs the LLM (its code is not in the "
                    "cache); --frozen builds only from scriptexec.lock and the cache"
                )
            fresh.append(name)
            reply, codes[name] = self._ask("step", steps[name])
            self._log(1, name, reply, codes[name], [])
        if fresh:
            self._verify_and_repair(steps, codes, fresh)
            for name in fresh:
                blob = self.cache.put_blob(codes[name].encode("utf-8"))
                self.cache.put_record(keys[name], StageRecord({"code.py": blob}, {"step": name}))
        from scriptexec.llm.stage_support import llm_meta

        meta = llm_meta(self.spec, self.project)
        meta["llm"]["calls"] = self.calls
        return codes, meta

    def _verify_and_repair(
        self, steps: dict[str, Any], codes: dict[str, str], fresh: list[str]
    ) -> None:
        attempts = int(self.spec.canonical["generator"]["max_attempts"])
        for attempt in range(1, attempts + 1):
            errors = self._verify(codes)
            for name in fresh:
                self._log(
                    attempt, name, None, codes[name], errors.get(name, []) + errors.get("*", [])
                )
            if not errors:
                return
            blamed = [n for n in fresh if n in errors] or (fresh if "*" in errors else [])
            if not blamed:
                shown = "\n".join(e for errs in errors.values() for e in errs)
                raise BuildError(
                    f"{self.spec.display}: the program fails outside the LLM's code:\n{shown}"
                )
            if attempt == attempts:
                shown = "\n".join(
                    f"  {e}" for n in blamed for e in errors.get(n, []) + errors.get("*", [])
                )
                raise LLMError(
                    f"{self.spec.display}: the LLM's code for {', '.join(blamed)} still fails "
                    "after "
                    f"{attempts} attempts:\n{shown}\nevery attempt is logged in "
                    f"{self.project.relative(self.log_dir)}"
                )
            for name in blamed:
                reply, codes[name] = self._ask(
                    "repair",
                    steps[name],
                    code=codes[name],
                    errors=errors.get(name, []) + errors.get("*", []),
                )
                self._log(attempt + 1, name, reply, codes[name], [])

    def _verify(self, codes: dict[str, str]) -> dict[str, list[str]]:
        """Problems of the whole program with these step functions, by step ("*": any)."""
        from scriptexec.acceptance import input_declarations, run_checks
        from scriptexec.checks import check_program
        from scriptexec.codegen.model import program_model
        from scriptexec.codegen.render import render_program
        from scriptexec.stages.validate import threshold

        files = render_program(program_model(self.spec, codes), self.project)
        spans = _function_spans(files.get("steps.py", b""), self.spec)
        errors: dict[str, list[str]] = {}
        report = check_program(files, threshold=threshold(self.spec), tmp_dir=self.ctx.workdir)
        if not report.passed:
            for issue in report.issues:
                if getattr(issue, "severity", "") == "info":
                    continue
                in_steps = issue.file == "steps.py"
                owner = next(
                    (n for n, (a, b) in spans.items() if in_steps and a <= issue.line <= b), "*"
                )
                errors.setdefault(owner, []).append(
                    f"{issue.code}: {issue.message} (line {issue.line})"
                )
        if errors:
            return errors
        c = self.spec.canonical
        # In the stage's folder under .scriptexec/tmp/, which a later build sweeps if killed.
        with tempfile.TemporaryDirectory(prefix="scriptexec-author-", dir=self.ctx.workdir) as tmp:
            program = Path(tmp) / "program"
            for name, data in files.items():
                atomic_write(program / name, data)
            result = run_checks(
                program,
                c["checks"],
                input_declarations(c),
                workdir=Path(tmp) / "work",
                cancel=self.ctx.cancel,
                progress=self.ctx.progress,
            )
        produced = {f: s["name"] for s in c["steps"] for f in s["produces"]}
        for failed in result.failed:
            text = "\n".join(failed.failures)
            # The diff marks wrong fields with - (expected) and + (actual); blame the steps
            # that produce those, not every field shown for context.
            wrong = {
                line.strip()[1:].strip().split(":")[0]
                for line in failed.failures
                for line in line.splitlines()
                if line.strip()[:1] in ("-", "+")
            }
            owners = {produced[f] for f in wrong if f in produced} or {"*"}
            for owner in owners:
                errors.setdefault(owner, []).append(f'check "{failed.name}" failed:\n{text}')
        return errors

    def _log(
        self, attempt: int, step: str, reply: str | None, code: str, errors: list[str]
    ) -> None:
        entry = {"attempt": attempt, "step": step, "code": code, "errors": errors}
        if reply is not None:
            entry["reply"] = reply
        name = f"{step}-{attempt}-{'reply' if reply is not None else 'checked'}.json"
        atomic_write(self.log_dir / name, json.dumps(entry, indent=2).encode("utf-8"))


def _function_spans(steps_module: bytes, spec: Spec) -> dict[str, tuple[int, int]]:
    from scriptexec.codegen.model import step_function_name

    names = {step_function_name(s["name"]): s["name"] for s in spec.canonical["steps"]}
    try:
        tree = parse(steps_module)
    except SyntaxError:
        return {}
    return {
        names[node.name]: (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in names
    }


def write_steps(ctx: StageContext) -> tuple[dict[str, str], dict[str, Any]]:
    return _Author(ctx).write()
