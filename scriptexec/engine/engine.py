"""The make-like engine: for each spec, walk the stages, run only what is stale.

For each stage the engine gathers what it declares it reads, hashes that into the stage
key *before* running it, and then either reuses the cached output for that key or runs the
stage. Because a key includes the digests of the upstream outputs it reads, a re-run stage
that produces the same output leaves later stages fresh (early cutoff).

Modes: build (run what is stale), check (keys against the lock only: no cache, no Docker,
no LLM), dry-run and status (keys, cache and engine: what a build would do, and why).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scriptexec.engine.cache import Cache, StageRecord
from scriptexec.engine.digests import FileDigests, signature
from scriptexec.engine.keys import dict_hash, stage_key
from scriptexec.engine.lockfile import LockFile, StageEntry
from scriptexec.engine.pipeline import (
    build_order,
    key_inputs,
    recorded_closure,
    upstream_files,
    upstream_paths,
    upstreams,
)
from scriptexec.engine.publish import publish
from scriptexec.engine.state import BuildState, SpecState
from scriptexec.errors import (
    BuildError,
    EngineUnavailableError,
    FrozenError,
    LLMError,
    ScriptexecError,
    SpecError,
)
from scriptexec.project import Project
from scriptexec.spec.yamlload import MAX_SPEC_BYTES
from scriptexec.stages import STAGE_ORDER

if TYPE_CHECKING:
    from concurrent.futures import Future

    from scriptexec.spec.model import Spec
    from scriptexec.stages.base import StageResult

# What a no-op build needs is imported above; the rest (YAML, the spec checker, the
# stages, threads, temp dirs) only when a spec has to be looked at.

Mode = Literal["build", "check", "dry-run", "status"]


@dataclass
class Request:
    mode: Mode = "build"
    force: str | None = None  # "all", or a stage name: bypass the cache for it
    until: str | None = None  # last stage to run
    frozen: bool = False  # never call an LLM: only the lock and the cache
    no_image: bool = False
    keep_going: bool = False
    jobs: int = 1

    def stages(self) -> tuple[str, ...]:
        last = STAGE_ORDER.index(self.until) + 1 if self.until else len(STAGE_ORDER)
        return STAGE_ORDER[:last]


@dataclass
class StageReport:
    stage: str
    state: str  # fresh | stale | cached | ran | failed | skipped
    reason: str = ""
    seconds: float = 0.0


@dataclass
class SpecReport:
    path: str
    name: str | None = None
    stages: list[StageReport] = field(default_factory=list)
    error: ScriptexecError | None = None
    up_to_date: bool = False  # decided by the fast path, without loading the spec
    upstream: dict[str, str] = field(default_factory=dict)  # specs it reads from -> file

    @property
    def stale(self) -> bool:
        return any(s.state == "stale" for s in self.stages)

    @property
    def restored(self) -> int:
        """How many stages came from the cache, when no stage had to run (0 otherwise)."""
        if any(s.state in ("ran", "failed") for s in self.stages):
            return 0
        return sum(s.state == "cached" for s in self.stages)


Listener = Callable[[SpecReport, StageReport | None], None]


class Engine:
    def __init__(
        self, project: Project, warn: Callable[[str], None], cancel: threading.Event | None = None
    ) -> None:
        self.project = project
        self.warn = warn
        self.cancel = cancel or threading.Event()
        self.state = BuildState.load(project.state_dir / "state.json")
        project.digests = FileDigests(self.state.digests)
        self.cache = Cache(project.cache_dir, warn)
        self.lock = LockFile(project.lock_path, warn)
        project.warn = warn
        project.locked_model_digest = self._locked_model_digest
        self._images: dict[str, str] | None = None
        self._images_lock = threading.Lock()
        self._scratch_lock = threading.Lock()
        self._swept = False  # .scriptexec/tmp is swept before the first stage runs
        if "scriptexec.llm.base" in sys.modules:
            # A long-lived process (watch) must see a model pulled since the last build.
            sys.modules["scriptexec.llm.base"].clear_caches()

    def _locked_model_digest(self, spec_name: str) -> str | None:
        for stage in ("generate", "plan", "analyze"):
            entry = self.lock.stage(spec_name, stage)
            llm = entry.meta.get("llm") if entry else None
            if isinstance(llm, dict) and llm.get("model_digest"):
                return str(llm["model_digest"])
        return None

    # -- the fast path --------------------------------------------------------------------

    def options_hash(self, req: Request) -> str:
        o = self.project.options
        return dict_hash(
            {
                "stages": req.stages(),
                "no_image": req.no_image,
                "base_image": o.base_image,
                "base_image_source": o.base_image_source,  # the package key's input name
                "build_network": o.build_network,
                "cache": str(self.project.cache_dir),
            }
        )[:16]

    def up_to_date(self, path: Path, req: Request) -> bool:
        """True when nothing the last successful build of `path` read or wrote has moved.

        Costs a few stat() calls and, for images, one question to the Docker engine.
        """
        from scriptexec.engine.state import SignatureCache, unchanged

        entry = self.state.specs.get(str(path))
        if entry is None or entry.options != self.options_hash(req):
            return False
        sigs = getattr(self, "_sigs", None) or SignatureCache()
        self._sigs = sigs
        if not self._lock_unchanged():
            return False
        if sigs.get(str(path)) != entry.spec_sig:
            try:
                raw = path.read_bytes()
            except OSError:
                return False
            if hashlib.sha256(raw).hexdigest() != entry.source_digest:
                return False
        if not (unchanged(entry.deps, sigs) and unchanged(entry.outputs, sigs)):
            return False
        if entry.llm is not None and not self._llm_unchanged(entry.llm):
            return False
        if entry.image_key is not None:
            return entry.image_key in self.images()
        return True

    def with_upstreams(self, paths: list[Path]) -> list[Path]:
        """`paths` and, before them, the specs their last builds read from (from the
        build state alone): what a no-op build of `paths` must find up to date."""
        return recorded_closure(self.state, paths)

    def fresh_report(self, report: SpecReport, path: Path) -> SpecReport:
        """`report` filled in for a spec the fast path found up to date."""
        entry = self.state.specs[str(path)]
        report.name, report.up_to_date = entry.name, True
        report.upstream = {n: self.project.relative(Path(p)) for n, p in entry.upstream.items()}
        return report

    def _lock_unchanged(self) -> bool:
        """Whether scriptexec.lock is as the last build left it (a pull or a hand edit
        makes every spec look again). Asked once: this run's own writes do not count."""
        if not hasattr(self, "_lock_was_unchanged"):
            self._lock_was_unchanged = signature(self.project.lock_path) == self.state.lock_sig
        return self._lock_was_unchanged

    def _llm_unchanged(self, recorded: dict[str, Any]) -> bool:
        from scriptexec.llm.stage_support import llm_unchanged

        return llm_unchanged(recorded, self.project, self.warn)

    def images(self) -> dict[str, str]:
        """Image key -> id on the engine ({} when none answers); asked once per run."""
        with self._images_lock:
            if self._images is None:
                from scriptexec.container.engine import images_by_key

                try:
                    self._images = images_by_key()
                except Exception as exc:
                    self.warn_once_engine(exc)
                    self._images = {}
            return self._images

    def warn_once_engine(self, exc: Exception) -> None:
        self._engine_error = str(exc)

    # -- one spec -------------------------------------------------------------------------

    def process(self, path: Path, req: Request, listener: Listener) -> SpecReport:
        display = self.project.relative(path)
        report = SpecReport(display)
        if req.mode == "build" and not req.force and self.up_to_date(path, req):
            self.fresh_report(report, path)
            listener(report, None)
            return report
        spec_sig = signature(path)  # taken before reading: an edit during the build shows
        try:
            spec = self._load(path, display)
        except ScriptexecError as exc:
            report.error = exc
            listener(report, None)
            return report
        report.name = spec.name
        report.upstream = upstreams(spec)
        try:
            with self.project.digests.recording() as deps:
                published = self._walk(spec, req, report, listener)
            deps.update(upstream_files(spec))  # an edit upstream makes this spec look again
            if published is not None:
                self._remember(path, spec, spec_sig, req, report, deps, published)
                listener(report, None)  # done: the console says what was restored, if all was
        except ScriptexecError as exc:
            report.error = exc
            listener(report, None)
        return report

    def _load(self, path: Path, display: str) -> Spec:
        from scriptexec.spec.model import load_spec_bytes

        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_SPEC_BYTES + 1)
        except OSError as exc:
            from scriptexec.errors import Problem

            raise SpecError(
                [Problem(display, 1, 1, "", f"cannot read file: {exc.strerror}")]
            ) from None
        if len(raw) > MAX_SPEC_BYTES:
            from scriptexec.spec.model import load_spec

            return load_spec(path, display, root=self.project.root)  # reports the size
        return load_spec_bytes(path, display, raw, root=self.project.root)

    def _walk(
        self, spec: Spec, req: Request, report: SpecReport, listener: Listener
    ) -> dict[str, Any] | None:
        """Go through the stages; in build mode return the signatures of published files.

        Consecutive stages that do not read each other's outputs (validate, test and
        package all read only generate's, or nothing) run at the same time.
        """
        digests: dict[str, dict[str, str]] = {}
        results: dict[str, StageResult] = {}
        unknown: set[str] = set()  # stages whose output a non-building mode cannot know
        published: dict[str, bytes] = {}
        modes: dict[str, int] = {}  # published file -> mode bits it must not exceed
        for batch in _batches(req.stages()):
            if self.cancel.is_set():
                raise KeyboardInterrupt
            planned: list[_Planned] = []
            for name in batch:
                plan = self._plan(name, spec, req, report, listener, digests, unknown)
                if plan is not None:
                    planned.append(plan)
            if req.mode != "build":
                continue
            failure: BaseException | None = None
            outcomes = self._obtain_all(planned, spec, req, results)
            for plan, (outcome, state, seconds, note) in zip(planned, outcomes, strict=True):
                name = plan.stage.name
                if isinstance(outcome, EngineUnavailableError):
                    self._emit(report, listener, StageReport(name, "skipped", str(outcome)))
                    continue
                if isinstance(outcome, BaseException):
                    msg = str(outcome) if isinstance(outcome, ScriptexecError) else "interrupted"
                    first = msg.splitlines()[0] if msg else ""
                    self._emit(report, listener, StageReport(name, "failed", first, seconds))
                    failure = failure or outcome
                    continue
                result = outcome
                outputs = {f: hashlib.sha256(d).hexdigest() for f, d in result.files.items()}
                entry = StageEntry(plan.key, plan.flat, plan.upstream, outputs, result.meta)
                self.lock.record(spec.name, spec.display, name, entry)
                digests[name], results[name] = outputs, result
                if plan.stage.publish_dir is not None:
                    prefix = f"{plan.stage.publish_dir}/" if plan.stage.publish_dir else ""
                    published.update({prefix + f: d for f, d in result.files.items()})
                    modes.update({prefix + f: m for f, m in file_modes(result).items()})
                why = "" if state == "cached" else (plan.reason or note)
                self._emit(report, listener, StageReport(name, state, why, seconds))
            if failure is not None:
                self.lock.save()
                raise failure
        if req.mode != "build":
            return None
        # Rewriting the whole lock after every spec would make a first build of n specs
        # cost n^2; a few seconds' delay costs at most cache hits after a kill.
        self.lock.save(min_interval=2.0)
        if self.cancel.is_set():
            raise KeyboardInterrupt  # superseded or interrupted: publish nothing
        return publish(self.project.build_dir(spec.name), published, modes=modes, warn=self.warn)

    def _plan(
        self,
        name: str,
        spec: Spec,
        req: Request,
        report: SpecReport,
        listener: Listener,
        digests: dict[str, dict[str, str]],
        unknown: set[str],
    ) -> _Planned | None:
        """Hash what a stage reads into its key; outside build mode, judge it right away."""
        from scriptexec.engine.why import flatten_inputs, stale_reason
        from scriptexec.stages import get_stage

        stage = get_stage(name)
        if name == "image" and req.no_image:
            self._emit(report, listener, StageReport(name, "skipped", "--no-image"))
            return None
        blocked = [u for u in stage.reads if u in unknown]
        if blocked:
            unknown.add(name)
            self._emit(
                report, listener, StageReport(name, "stale", f"waits on {', '.join(blocked)}")
            )
            return None
        try:
            with self.project.digests.recording() as touched:
                inputs = key_inputs(spec, stage.inputs(spec, self.project))
        except LLMError as exc:
            if req.mode == "build":
                raise
            # status and dry runs still report every stage when the LLM server is down
            unknown.add(name)
            self._emit(report, listener, StageReport(name, "stale", f"model digest unknown: {exc}"))
            return None
        upstream = {
            u: {
                f: d
                for f, d in sorted(digests.get(u, {}).items())
                if any(fnmatch.fnmatchcase(f, pattern) for pattern in files)
            }
            for u, files in stage.reads.items()
        }
        key = stage_key(name, getattr(stage, "version", 1), inputs, upstream)
        flat = flatten_inputs(inputs)
        entry = self.lock.stage(spec.name, name)
        reason = stale_reason(entry, key, flat, upstream, spec, self.project)
        if req.mode != "build":
            state, reason = self._judge(stage, key, entry, reason, req)
            self._emit(report, listener, StageReport(name, state, reason or ""))
            if state == "fresh" and entry is not None:
                digests[name] = entry.outputs
            elif state != "skipped":
                unknown.add(name)
            return None
        return _Planned(stage, key, flat, upstream, reason, dict(touched))

    def _obtain_all(
        self, planned: list[_Planned], spec: Spec, req: Request, results: dict[str, StageResult]
    ) -> list[tuple[Any, str, float, str]]:
        """(result or exception, state, seconds, why it ran) for each planned stage."""
        from concurrent.futures import ThreadPoolExecutor

        def one(plan: _Planned) -> tuple[Any, str, float, str]:
            started = time.monotonic()
            try:
                result, state, note = self._obtain(
                    plan.stage, spec, plan.key, plan.reason, req, results, plan.touched
                )
                return result, state, time.monotonic() - started, note
            except (ScriptexecError, KeyboardInterrupt) as exc:
                return exc, "failed", time.monotonic() - started, ""

        if len(planned) <= 1:
            outcomes = [one(p) for p in planned]
        else:
            with ThreadPoolExecutor(max_workers=len(planned), thread_name_prefix="stage") as pool:
                futures = [pool.submit(one, p) for p in planned]
                try:
                    outcomes = [f.result() for f in futures]
                except KeyboardInterrupt:
                    self.cancel.set()
                    raise
        for outcome, _, _, _ in outcomes:
            if isinstance(outcome, KeyboardInterrupt):
                raise outcome
        return outcomes

    def _judge(
        self, stage: Any, key: str, entry: StageEntry | None, reason: str | None, req: Request
    ) -> tuple[str, str | None]:
        """fresh or stale without running anything. check: keys only."""
        if hasattr(stage, "present") and req.mode != "check":
            images = self.images()
            if not images and getattr(self, "_engine_error", None):
                return "skipped", f"no Docker engine answers ({self._engine_error})"
            if reason is None and key not in images:
                return "stale", "no image with this key on the engine"
        if reason is not None:
            return "stale", reason
        if req.mode == "check" or hasattr(stage, "present"):
            return "fresh", None
        if self.cache.get_record(key) is None:
            return "stale", "built elsewhere: output not in the local cache"
        return "fresh", None

    def _obtain(
        self,
        stage: Any,
        spec: Spec,
        key: str,
        reason: str | None,
        req: Request,
        results: dict[str, StageResult],
        touched: dict[str, Any],
    ) -> tuple[StageResult, str, str]:
        """(result, "cached" or "ran", why it ran when the lock alone does not say)."""
        forced = req.force in ("all", stage.name)
        if hasattr(stage, "present"):
            return self._obtain_image(stage, spec, key, req, results, forced)
        note = "forced"
        if not forced:
            record, files, note = self.cache.fetch(key)
            if record is not None and files is not None:
                self.cache.touch(key)
                from scriptexec.stages.base import StageResult

                return StageResult(files, record.meta), "cached", ""
        # A stage that caches its LLM work piece by piece (generate, per step) checks
        # --frozen itself, so it can still re-render from cached pieces.
        if req.frozen and stage.needs_llm(spec) and not getattr(stage, "frozen_aware", False):
            raise FrozenError(
                f"{spec.display}: stage {stage.name} needs the LLM ({reason or 'not cached'}); "
                "--frozen builds only from scriptexec.lock and the cache"
            )
        result = self._run(stage, spec, results, key)
        moved = [p for p, sig in touched.items() if signature(p) != sig]
        if moved:
            raise BuildError(
                f"{self.project.relative(Path(moved[0]))} changed while {stage.name} ran; "
                "nothing was recorded: run the build again"
            )
        modes = file_modes(result)
        blobs = {f: self.cache.put_blob(d, modes.get(f, 0o644)) for f, d in result.files.items()}
        self.cache.put_record(key, StageRecord(blobs, result.meta))
        return result, "ran", note

    def _obtain_image(
        self,
        stage: Any,
        spec: Spec,
        key: str,
        req: Request,
        results: dict[str, StageResult],
        forced: bool,
    ) -> tuple[StageResult, str, str]:
        if not forced and key in self.images():
            from scriptexec.stages.base import StageResult

            return StageResult({}, {"image": self.images()[key]}), "cached", ""
        result = self._run(stage, spec, results, key)
        with self._images_lock:
            if self._images is not None and "image" in result.meta:
                self._images[key] = result.meta["image"]
        return result, "ran", "forced" if forced else "no image with this key on the engine"

    def _run(
        self, stage: Any, spec: Spec, results: dict[str, StageResult], key: str
    ) -> StageResult:
        import tempfile

        from scriptexec.engine.scratch import scratch_dir, sweep
        from scriptexec.stages.base import StageContext

        with self._scratch_lock:
            if not self._swept:
                # Stages run only under the project lock, so what the first one finds in
                # the scratch folder was left by a killed build.
                sweep(self.project, self.warn)
                self._swept = True
            scratch = scratch_dir(self.project)
        with tempfile.TemporaryDirectory(prefix=f"{stage.name}-", dir=scratch) as workdir:
            ctx = StageContext(
                spec=spec,
                project=self.project,
                upstream={u: results[u] for u in stage.reads},
                workdir=Path(workdir),
                cancel=self.cancel,
                progress=self.progress,
                key=key,
            )
            result: StageResult = stage.run(ctx)
            return result

    def progress(self, text: str) -> None:
        """Replaced by the CLI with a TTY progress line."""

    def _emit(self, report: SpecReport, listener: Listener, stage: StageReport) -> None:
        report.stages.append(stage)
        listener(report, stage)

    def _remember(
        self,
        path: Path,
        spec: Spec,
        spec_sig: Any,
        req: Request,
        report: SpecReport,
        deps: dict[str, Any],
        published: dict[str, Any],
    ) -> None:
        if spec_sig is None or any(
            s.state in ("failed", "skipped") and s.stage != "image" for s in report.stages
        ):
            return
        image = next((s for s in report.stages if s.stage == "image"), None)
        image_key = None
        if image is not None:
            if image.state == "skipped" and not req.no_image:
                return  # no engine answered: not up to date, one may answer next time
            entry = self.lock.stage(spec.name, "image")
            image_key = entry.key if entry else None
        llm = None
        if spec.needs_llm():
            from scriptexec.llm.stage_support import recorded_llm

            llm = recorded_llm(spec, self.project)
        self.state.specs[str(path)] = SpecState(
            name=spec.name,
            spec_sig=spec_sig,
            source_digest=spec.source_digest,
            options=self.options_hash(req),
            deps=deps,
            outputs=published,
            image_key=image_key,
            llm=llm,
            upstream=upstream_paths(spec),
        )

    # -- many specs -----------------------------------------------------------------------

    def run(self, paths: list[Path], req: Request, listener: Listener) -> list[SpecReport]:
        """Process `paths` and the specs they read from, upstreams first (as make builds
        prerequisites); a spec whose upstream failed is not built (-k goes on with
        the others)."""
        paths, needs = build_order(paths)
        reports: list[SpecReport] = []
        try:
            if req.jobs <= 1:
                failed: set[Path] = set()
                for path in paths:
                    rep = self._unless_upstream_failed(path, needs[path], failed, req, listener)
                    reports.append(rep)
                    if rep.error:
                        failed.add(path)
                    if rep.error and not req.keep_going and req.mode == "build":
                        break
            else:
                reports = self._run_parallel(paths, needs, req, listener)
        finally:
            if req.mode == "build":
                self.lock.save()
                self.state.save(self.project.digests.export(), self.project.lock_path)
        return reports

    def _unless_upstream_failed(
        self, path: Path, ups: list[Path], failed: set[Path], req: Request, listener: Listener
    ) -> SpecReport:
        """process(path); or, when building, a report that it was not built because a
        spec it reads from failed."""
        broken = [u for u in ups if u in failed]
        if not broken or req.mode != "build":
            return self.process(path, req, listener)
        from scriptexec.spec.upstream import outline

        def name(p: Path) -> str:
            found = outline(p)
            return found.name if found and found.name else self.project.relative(p)

        report = SpecReport(self.project.relative(path), name(path))
        failed_names = ", ".join(name(u) for u in broken)
        report.error = BuildError(f"not built: it reads from {failed_names}, which failed")
        listener(report, None)
        return report

    def _run_parallel(
        self, paths: list[Path], needs: dict[Path, list[Path]], req: Request, listener: Listener
    ) -> list[SpecReport]:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        reports: dict[Path, SpecReport] = {}
        pending = list(paths)
        failed = False
        errors: set[Path] = set()

        def ready(p: Path) -> bool:  # what it reads from is done
            return all(u in reports for u in needs[p])

        with ThreadPoolExecutor(max_workers=req.jobs, thread_name_prefix="spec") as pool:
            running: dict[Future[SpecReport], Path] = {}
            while pending or running:
                while len(running) < req.jobs and not (failed and not req.keep_going):
                    p = next((q for q in pending if ready(q)), None)
                    if p is None:
                        break
                    pending.remove(p)
                    if any(u in errors for u in needs[p]):
                        reports[p] = self._unless_upstream_failed(
                            p, needs[p], errors, req, listener
                        )
                        errors.add(p)
                        continue
                    running[pool.submit(self.process, p, req, listener)] = p
                if not running:
                    break
                try:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    self.cancel.set()
                    raise
                for fut in done:
                    p = running.pop(fut)
                    reports[p] = fut.result()
                    if reports[p].error is not None:
                        failed = True
                        errors.add(p)
        return [reports[p] for p in paths if p in reports]


@dataclass
class _Planned:
    """A stage about to be obtained: its key and why it is (or is not) stale."""

    stage: Any
    key: str
    flat: dict[str, str]
    upstream: dict[str, dict[str, str]]
    reason: str | None
    touched: dict[str, Any]


def file_modes(result: StageResult) -> dict[str, int]:
    """The permission bits a stage asks its files to keep (`meta.modes`, as octal text:
    package keeps a private data file private). Only ever used to narrow 0644, so a
    hostile cache record cannot widen anything."""
    modes = result.meta.get("modes")
    if not isinstance(modes, dict):
        return {}
    out = {}
    for name, text in modes.items():
        if isinstance(text, str) and re.fullmatch(r"0?[0-7]{3}", text):
            out[str(name)] = int(text, 8)
    return out


def _batches(stages: tuple[str, ...]) -> list[list[str]]:
    """Split the chain into runs of stages none of which reads another in the same run."""
    from scriptexec.stages import get_stage

    batches: list[list[str]] = []
    for name in stages:
        reads = set(get_stage(name).reads)
        if batches and not reads & set(batches[-1]):
            batches[-1].append(name)
        else:
            batches.append([name])
    return batches
