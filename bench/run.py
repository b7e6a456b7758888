"""Speed figures for scriptexec, printed (never asserted: machines here are shared).

    make bench                 # everything
    python bench/run.py noop   # one section: noop, many, edit, watch

Every figure is the whole process (`scriptexec ...` as a user runs it), median of several
runs, with `make -q` on an equivalent Makefile as the floor a make-like tool can reach.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SE = str(Path(sys.executable).parent / "scriptexec")


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    return proc


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def show(label: str, times: list[float], target: str = "") -> None:
    med = statistics.median(times) * 1000
    worst = max(times) * 1000
    extra = f"   target {target}" if target else ""
    print(f"  {label:<52} median {med:8.1f} ms   worst {worst:8.1f} ms{extra}")


def project_copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="scriptexec-bench-"))
    shutil.copytree(
        REPO / "specs", root / "specs", ignore=shutil.ignore_patterns("tenant_risk.yaml")
    )
    return root


def bench_noop() -> None:
    print("no-op build of specs/dscr.yaml (everything fresh)")
    root = project_copy()
    image_flag = [] if os.environ.get("DOCKER_HOST") else ["--no-image"]
    run([SE, "build", "specs/dscr.yaml", *image_flag], root)
    show(
        "scriptexec build specs/dscr.yaml",
        timed(lambda: run([SE, "build", "specs/dscr.yaml", *image_flag], root), 15),
        "< 100 ms",
    )
    show(
        "python -c pass (interpreter start, the floor)",
        timed(lambda: run([sys.executable, "-c", "pass"], root), 15),
    )
    show("scriptexec --version (CLI import)", timed(lambda: run([SE, "--version"], root), 15))
    show(
        "scriptexec build --check (keys vs lock, parses YAML)",
        timed(lambda: run([SE, "build", "--check", "specs/dscr.yaml", *image_flag], root), 5),
    )
    shutil.rmtree(root)


def many_specs(root: Path, n: int) -> None:
    """n specs in the shape of dscr.yaml, each with its own name (so its own outputs)."""
    text = (REPO / "specs" / "dscr.yaml").read_text()
    (root / "specs").mkdir(parents=True)
    shutil.copytree(REPO / "specs" / "data", root / "specs" / "data")
    for i in range(n):
        (root / "specs" / f"s{i:04d}.yaml").write_text(
            text.replace("name: dscr", f"name: s{i:04d}")
        )


def make_floor(root: Path, n: int) -> list[float]:
    """`make -q` over an equivalent graph: each spec's program depends on its spec."""
    lines = ["all: " + " ".join(f"build/s{i:04d}/app.py" for i in range(n)), ""]
    templates = " ".join(str(p) for p in sorted((REPO / "templates" / "program").glob("*")))
    for i in range(n):
        lines += [f"build/s{i:04d}/app.py: specs/s{i:04d}.yaml {templates}", "\t@true", ""]
    (root / "Makefile.bench").write_text("\n".join(lines))
    return timed(lambda: run(["make", "-q", "-f", "Makefile.bench"], root, check=False), 5)


def bench_many() -> None:
    # The validate and test stages run ruff, bandit and the program per spec (~1-2 s each),
    # so the 1,000-spec figures build up to `generate`; the no-op path is the same code
    # whatever the last stage is: a few stat() calls per spec.
    print("many specs, no-op (built with --until generate --no-image)")
    for n in (100, 300, 1000):
        root = Path(tempfile.mkdtemp(prefix=f"scriptexec-bench-{n}-"))
        many_specs(root, n)
        start = time.perf_counter()
        run([SE, "build", "--until", "generate", "--no-image", "-j", "2"], root)
        first = time.perf_counter() - start
        times = timed(lambda r=root: run([SE, "build", "--until", "generate", "--no-image"], r), 5)
        show(
            f"{n} specs no-op (first build took {first:.1f} s)",
            times,
            "< 2 s for 1,000" if n == 1000 else "",
        )
        show(f"make -q on an equivalent Makefile, {n} targets", make_floor(root, n))
        if n == 1000:
            bench_edit(root)
        shutil.rmtree(root)


def bench_edit(root: Path) -> None:
    spec = root / "specs" / "s0500.yaml"
    spec.write_text(spec.read_text().replace("breach: dscr < covenant", "breach: dscr <= covenant"))
    start = time.perf_counter()
    out = run([SE, "-v", "build", "--until", "generate", "--no-image"], root).stdout
    took = time.perf_counter() - start
    ran = [line for line in out.splitlines() if " ran " in line]
    print(f"  one formula edited among 1,000 specs: {took * 1000:.0f} ms, stages run: {len(ran)}")
    for line in ran:
        print(f"    {line}")


def bench_watch() -> None:
    script = REPO / "bench" / "watch_latency.py"
    if not script.exists():
        print("watch latency: bench/watch_latency.py not present")
        return
    subprocess.run([sys.executable, str(script)], check=True)


SECTIONS = {"noop": bench_noop, "many": bench_many, "watch": bench_watch}


def main() -> None:
    chosen = sys.argv[1:] or list(SECTIONS)
    print(f"scriptexec bench on {os.cpu_count()} cores, python {sys.version.split()[0]}")
    for name in chosen:
        SECTIONS[name]()


if __name__ == "__main__":
    main()
