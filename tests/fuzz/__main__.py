"""Run the fuzz targets: ``python -m tests.fuzz [TARGET …] [--runs N] [--engine atheris|mutate]``.

With atheris (coverage-guided libFuzzer; Linux x86_64) each target runs in a process of its own, instrumented, from
its seed corpus in ``tests/fuzz/corpus/<target>/``; what it finds new is kept in a scratch corpus, never in the
repository. Without atheris — or with ``--engine mutate`` — a seeded mutation engine feeds the same targets
mutations of the same seeds. Either way the invariants are the same: only an entry point's own error escapes
(:mod:`tests.fuzz.targets`), every call returns within ``--timeout`` seconds (a hang detector, far above any
input's cost), and the process stays under ``--rss-limit-mb``. Exit 0 when no input broke one; otherwise the input is
written to ``--artifacts`` and named.

``make fuzz`` runs every target for ``FUZZ_RUNS`` executions each; ``make test`` runs a short budget
(``tests/integration/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]


def seeds(target: str) -> list[bytes]:
    folder = CORPUS / target
    return [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()] if folder.is_dir() else []


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the mutation engine (no atheris) ---

_INTERESTING = [
    *(b"[" * 70, b"]" * 70, b"9" * 400, b"\\ud800", b"\x00", b"\xff", b"NaN", b"-1", b"{}", b"[]", b'""', b":"),
    *(b"\n\n", b"1e400", b"&a [*a]", b"*", b"!!python/object", b"\r\n", b"," * 50),
]


def mutate(data: bytes, rng: random.Random, pool: list[bytes], limit: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.randrange(7)
        where = rng.randint(0, len(out))
        if choice == 0 and out:
            out[min(where, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            out[where:where] = rng.choice(_INTERESTING)
        elif choice == 2 and out:
            del out[where : where + rng.randint(1, 64)]
        elif choice == 3 and out:
            start = rng.randrange(len(out))
            out[where:where] = out[start : start + rng.randint(1, 256)] * rng.randint(1, 8)
        elif choice == 4 and pool:
            other = rng.choice(pool)
            out = out[:where] + other[rng.randint(0, len(other)) :]
        elif choice == 5:
            out[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif out:
            del out[rng.randrange(len(out)) :]
    return bytes(out[:limit])


def run_mutate(target: str, runs: int, timeout: float, rss_limit: float, seed: int, artifacts: Path) -> int:
    from .targets import MAX_INPUT, TARGETS

    run = TARGETS[target].run
    pool = seeds(target) or [b""]
    rng = random.Random(seed)
    run(b"")  # set the services up before the clock starts
    start, slowest = time.monotonic(), 0.0
    for i in range(runs):
        data = pool[i] if i < len(pool) else mutate(rng.choice(pool), rng, pool, MAX_INPUT)
        began = time.monotonic()
        try:
            run(data)
        except BaseException as exc:
            return crashed(target, data, artifacts, f"{type(exc).__name__}: {exc}"[:500])
        took = time.monotonic() - began
        slowest = max(slowest, took)
        if took > timeout:
            return crashed(target, data, artifacts, f"a call took {took:.1f} s (more than --timeout {timeout:g} s)")
        if i % 256 == 0 and rss_mb() > rss_limit:
            return crashed(target, data, artifacts, f"RSS {rss_mb():.0f} MB (more than --rss-limit-mb {rss_limit:g})")
    seconds = time.monotonic() - start
    print(f"{target}: {runs:,} executions in {seconds:.1f} s (mutate), slowest call {slowest * 1000:.0f} ms, "
          f"max RSS {rss_mb():.0f} MB, 0 escapes")  # fmt: skip
    return 0


def crashed(target: str, data: bytes, artifacts: Path, why: str) -> int:
    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / f"{target}-crash-{abs(hash(data)):x}"
    path.write_bytes(data)
    print(f"{target}: an input broke the invariant: {why}\n  input: {path}", file=sys.stderr)
    return 1


# --- atheris ---


def run_atheris(target: str, runs: int, timeout: float, rss_limit: float, seed: int, artifacts: Path) -> int:
    """One target under libFuzzer, in a process of its own (atheris sets up once per process)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as scratch:
        args = [sys.executable, "-m", "tests.fuzz", "--atheris-child", target, "--", scratch]
        if (CORPUS / target).is_dir():
            args.append(str(CORPUS / target))
        args += [
            f"-runs={runs}",
            f"-max_len={65536}",
            f"-timeout={int(timeout)}",
            f"-rss_limit_mb={int(rss_limit)}",
            f"-seed={seed}",
            f"-artifact_prefix={artifacts}/{target}-",
            "-print_final_stats=1",
        ]
        started = time.monotonic()
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    executions = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    peak = re.findall(r"stat::peak_rss_mb:\s*(\d+)", output)
    if done.returncode != 0:
        print(output[-4000:], file=sys.stderr)
        print(f"{target}: an input broke the invariant (libFuzzer exit {done.returncode}); see above", file=sys.stderr)
        return 1
    print(f"{target}: {int(executions[-1]) if executions else runs:,} executions in {seconds:.1f} s (atheris), "
          f"peak RSS {peak[-1] if peak else '?'} MB, 0 escapes")  # fmt: skip
    return 0


def atheris_child(target: str, libfuzzer_args: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["drift", "httpserver", "exporters", "alerts"]):
        import alerts.webhook.service  # noqa: F401 - instrumented before the targets import them
        import drift.boundary  # noqa: F401
        import exporters.service  # noqa: F401

    from .targets import MAX_INPUT, TARGETS

    run = TARGETS[target].run

    def one_input(data: bytes) -> None:
        run(data[:MAX_INPUT])

    run(b"")  # set the services up before libFuzzer starts counting
    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.disable(logging.CRITICAL)  # what the services log about bad input is not the fuzzer's output
    if argv[:1] == ["--atheris-child"]:
        atheris_child(argv[1], argv[3:])
        return 0
    from .targets import TARGETS

    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="default: every one of " + ", ".join(TARGETS))
    parser.add_argument("--runs", type=int, default=10_000, help="executions per target (default 10,000)")
    parser.add_argument("--engine", choices=["auto", "atheris", "mutate"], default="auto")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one call may take (a hang detector)")
    parser.add_argument("--rss-limit-mb", type=float, default=2048.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--artifacts", type=Path, default=Path(tempfile.gettempdir()) / "driftline-fuzz-artifacts")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"no target {', '.join(unknown)}; the targets are {', '.join(TARGETS)}")
    engine = args.engine if args.engine != "auto" else ("atheris" if has_atheris() else "mutate")
    run = run_atheris if engine == "atheris" else run_mutate
    os.environ.setdefault("PYTHONHASHSEED", "0")
    failed = 0
    for target in args.targets or list(TARGETS):
        failed += run(target, args.runs, args.timeout, args.rss_limit_mb, args.seed, args.artifacts)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
