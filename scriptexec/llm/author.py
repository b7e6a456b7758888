"""The LLM writes the functions of prose steps; this module asks, checks and repairs.

Each step's code is cached by its own key (the step's words, what it may read and must
produce, the checks, the prompts, the model and its digest), so rewording one step re-asks
for that step alone. New code is checked the way the build will check it, in the whole
program: the validate checks, then the spec's checks. What fails goes back to the model
with every earlier attempt and its errors, so no repair prompt repeats an earlier one, up to
`generator.max_attempts` attempts in all; a model that answers a repair with code it already
gave is not asked again. Every attempt is logged under .scriptexec/llm-attempts/, and only
code that passed is kept in the per-step cache.

When the attempts run out, code that fails validate stops the build here: there is no
program to test. Code that passes validate but computes wrong answers goes on, and the test
stage reports each failing check with its expected and actual values, as for any spec.
"""

from __future__ import annotations

import ast
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.engine.cache import Cache, StageRecord, atomic_write
from scriptexec.engine.keys import dict_hash
from scriptexec.errors import FrozenError, LLMError
from scriptexec.pyparse import parse
from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext

# Bump when the way step code is asked for or checked changes.
AUTHOR_VERSION = 2
# What templates/program/steps.py.j2 imports for the signature the step prompt dictates. A
# reply that imports them too loses its own import: one name imported twice fails lint.
SKELETON_IMPORTS = {"typing": ("Any",)}
STAGE = "generate"


def signature(step: dict[str, Any]) -> str:
    return f"def {_function(step)}(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:"


def _function(step: dict[str, Any]) -> str:
    from scriptexec.codegen.model import step_function_name

    return step_function_name(step["name"])


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


@dataclass
class Answer:
    """A model's reply and the code in it; `problem` says why it holds no usable function."""

    reply: str
    code: str
    problem: str | None = None


@dataclass
class Attempt:
    """One version of a step's code that was checked, and what was wrong with it."""

    number: int
    answer: Answer
    errors: list[str]

    def repeated_by(self, answer: Answer) -> bool:
        """Whether `answer` gives this attempt again: the same reply, or the same code."""
        same_code = answer.problem is None and answer.code == self.answer.code
        return same_code or answer.reply == self.answer.reply

    def for_prompt(self) -> dict[str, Any]:
        return {"number": self.number, "code": self.answer.code, "errors": self.errors}


@dataclass
class Verdict:
    """What the checks found in the whole program, by the step to blame."""

    errors: dict[str, list[str]] = field(default_factory=dict)  # step -> problems; "*": any
    validated: bool = True  # passed validate, so only the spec's checks (if any) failed

    def add(self, owner: str, problem: str) -> None:
        found = self.errors.setdefault(owner, [])
        if problem not in found:  # ruff reports an undefined name once per use on a line
            found.append(problem)

    def of(self, step: str) -> list[str]:
        """A step's problems and those no step owns, each once."""
        return list(dict.fromkeys(self.errors.get(step, []) + self.errors.get("*", [])))

    def to_repair(self, step: str) -> list[str]:
        """What a blamed step is told: its own problems, else (blamed for another step's)
        every problem."""
        return self.of(step) or list(dict.fromkeys(e for es in self.errors.values() for e in es))

    def blamed(self, fresh: list[str]) -> list[str]:
        """The new steps to repair: those the problems name, else all of them (a problem
        outside every function, or in a cached step's, comes from what is new)."""
        named = [n for n in fresh if n in self.errors]
        return named or (list(fresh) if self.errors else [])


class _Author:
    def __init__(self, ctx: StageContext) -> None:
        from scriptexec.llm.stage_support import llm_inputs

        self.ctx = ctx
        self.spec = ctx.spec
        self.project = ctx.project
        self.settings = llm_inputs(self.spec, self.project, STAGE)
        self.cache = Cache(self.project.cache_dir, self.project.warn)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_dir = self.project.state_dir / "llm-attempts" / self.spec.name / stamp
        self.max_attempts = int(self.spec.canonical["generator"]["max_attempts"])
        self._provider: Any = None
        self._unusable: dict[str, str] = {}  # step -> why its latest reply held no function
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

    def _ask(self, prompt: str, step: dict[str, Any], attempt: int, **extra: Any) -> Answer:
        from scriptexec.llm.code import CodeError, check_function, extract_code, without_imports_of
        from scriptexec.llm.progress import call_progress
        from scriptexec.llm.prompts import prompt_messages

        context = {**self._context(step), "attempt": attempt, "max_attempts": self.max_attempts}
        messages, _ = prompt_messages(self.project, prompt, **context, **extra)
        self.calls += 1
        with call_progress(
            self.ctx.progress,
            spec=self.spec.name,
            stage=STAGE,
            task=f"step {step['name']}",
            attempt=attempt,
            attempts=self.max_attempts,
        ) as on_tokens:
            reply: str = self.provider.chat(messages, cancel=self.ctx.cancel, on_progress=on_tokens)
        self._unusable.pop(step["name"], None)
        try:
            code = extract_code(reply)
            check_function(code, _function(step), ["row", "params"])
        except CodeError as exc:
            self._unusable[step["name"]] = str(exc)
            return Answer(reply, f"# unusable reply: {exc}\n", str(exc))
        return Answer(reply, without_imports_of(code, SKELETON_IMPORTS))

    def write(self) -> tuple[dict[str, str], dict[str, Any]]:
        steps = {s["name"]: s for s in self.spec.canonical["steps"]}
        keys = {n: step_key(self.spec, s, self.settings) for n, s in steps.items()}
        codes: dict[str, str] = {}
        answers: dict[str, Answer] = {}
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
            answers[name] = self._ask("step", steps[name], 1)
            codes[name] = answers[name].code
            self._log(1, name, answers[name].reply, codes[name], [])
        unverified = self._repair(steps, codes, answers) if answers else []
        for name in answers:
            if name not in unverified:
                blob = self.cache.put_blob(codes[name].encode("utf-8"))
                self.cache.put_record(keys[name], StageRecord({"code.py": blob}, {"step": name}))
        from scriptexec.llm.stage_support import llm_meta

        meta = llm_meta(self.spec, self.project)
        meta["llm"]["calls"] = self.calls
        if unverified:
            meta["llm"]["unverified_steps"] = unverified
        return codes, meta

    def _repair(
        self, steps: dict[str, Any], codes: dict[str, str], answers: dict[str, Answer]
    ) -> list[str]:
        """Check the new steps' code and repair it in place until the program passes.

        Returns the steps whose code still fails the spec's checks when repairing stops
        ([] when everything passed); raises when the program still fails validate.
        """
        fresh = list(answers)
        history: dict[str, list[Attempt]] = {name: [] for name in fresh}
        number = 1
        while True:
            verdict = self._verify(codes)
            for name in fresh:
                self._log(number, name, None, codes[name], verdict.of(name))
            blamed = verdict.blamed(fresh)
            if not blamed:
                return []
            for name in blamed:
                history[name].append(Attempt(number, answers[name], verdict.to_repair(name)))
            if number == self.max_attempts:
                plural = "s" if number != 1 else ""
                return self._give_up(verdict, blamed, f"after {number} attempt{plural}")
            number += 1
            repeated = self._ask_repairs(steps, answers, blamed, history, number)
            if repeated:
                for name in blamed:  # hand on the code the verdict is about
                    answers[name] = history[name][-1].answer
                    codes[name] = answers[name].code
                return self._give_up(verdict, blamed, repeated)
            codes.update({name: answers[name].code for name in blamed})

    def _ask_repairs(
        self,
        steps: dict[str, Any],
        answers: dict[str, Answer],
        blamed: list[str],
        history: dict[str, list[Attempt]],
        number: int,
    ) -> str:
        """Ask for attempt `number` of each blamed step, showing it every earlier attempt
        and its errors. Returns "" or, when the model gave back an attempt it had already
        made, why asking again would not help."""
        for name in blamed:
            past = history[name]
            answer = self._ask(
                "repair",
                steps[name],
                number,
                code=past[-1].answer.code,
                errors=past[-1].errors,
                earlier=[attempt.for_prompt() for attempt in past[:-1]],
            )
            self._log(number, name, answer.reply, answer.code, [])
            answers[name] = answer
            same = next((a.number for a in past if a.repeated_by(answer)), None)
            if same is not None:
                return (
                    f"after attempt {number - 1} of {self.max_attempts} (the model answered "
                    f"the repair of step {name} with the same code as attempt {same}: another "
                    "attempt would not help; a larger model or a reworded step may)"
                )
        return ""

    def _give_up(self, verdict: Verdict, blamed: list[str], why: str) -> list[str]:
        """Stop repairing: raise when the program fails validate; else warn and return the
        steps whose wrong answers the test stage will report."""
        steps = ", ".join(blamed)
        logged = self.project.relative(self.log_dir)
        if not verdict.validated:
            shown = "\n".join(
                f"  {e}" for e in dict.fromkeys(e for n in blamed for e in verdict.to_repair(n))
            )
            raise LLMError(
                f"{self.spec.display}: the LLM's code for {steps} still fails {why}:\n{shown}\n"
                f"every attempt is logged in {logged}"
            )
        self.project.warn(
            f"{self.spec.name}: the LLM's code for {steps} passes validate but still fails "
            f"the spec's checks {why}; the test stage shows how. Reword the step, try another "
            f"model, or run `scriptexec build -B generate` to ask again (attempts: {logged})"
        )
        return blamed

    def _verify(self, codes: dict[str, str]) -> Verdict:
        """Problems of the whole program with these step functions, by step."""
        from scriptexec.checks import check_program
        from scriptexec.codegen.model import program_model
        from scriptexec.codegen.render import render_program
        from scriptexec.codegen.vendor import split_vendored
        from scriptexec.stages.validate import threshold

        files = render_program(program_model(self.spec, codes), self.project)
        verdict = Verdict()
        for name, problem in self._unusable.items():
            verdict.add(name, problem)
        generated, runtime = split_vendored(files)
        report = check_program(
            generated, threshold=threshold(self.spec), tmp_dir=self.ctx.workdir, context=runtime
        )
        if not report.passed or self._unusable:
            verdict.validated = False
            spans = _function_spans(files.get("steps.py", b""), self.spec)
            for issue in report.issues if not report.passed else []:
                if getattr(issue, "severity", "") == "info":
                    continue
                in_steps = issue.file == "steps.py"
                owner = next(
                    (n for n, (a, b) in spans.items() if in_steps and a <= issue.line <= b), "*"
                )
                verdict.add(owner, f"{issue.code}: {issue.message} (line {issue.line})")
            return verdict
        self._run_checks(files, verdict)
        return verdict

    def _run_checks(self, files: dict[str, bytes], verdict: Verdict) -> None:
        """The spec's checks on the program; each failure blamed on the steps producing
        the fields it shows wrong."""
        from scriptexec.acceptance import input_declarations, run_checks

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
            for owner in {produced[f] for f in wrong if f in produced} or {"*"}:
                verdict.add(owner, f'check "{failed.name}" failed:\n{text}')

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
