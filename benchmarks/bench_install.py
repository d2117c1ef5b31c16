"""What each way of installing driftline costs: packages and megabytes in a fresh virtualenv.

driftline's wheel is built once from this checkout; each install then gets its own new virtualenv and pip resolves
its dependencies from the package index as a user's ``pip install`` would. "before the split" is the core with the
report and demo extras: until the extras were split out, every install carried all three. Sizes are the virtualenv's
``site-packages`` on disk (``du``), with pip, setuptools and wheel left out of the package count.

    python benchmarks/bench_install.py [--only core,report]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALLS = {
    "core": "",  # pip install driftline
    "image (core + server)": "server",
    "image-report (core + server + report)": "server,report",
    "make demo (core + demo)": "demo",
    "before the split (core + report + demo)": "report,demo",
}
TOOLING = {"pip", "setuptools", "wheel"}


def measure(wheel: Path, extras: str, where: Path) -> tuple[int, float, float, list[str]]:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    started = time.monotonic()
    spec = f"{wheel}[{extras}]" if extras else str(wheel)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec], check=True)
    seconds = time.monotonic() - started
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    names = sorted(line.split("==")[0].lower() for line in listed if line.split("==")[0].lower() not in TOOLING)
    site = next((where / "lib").glob("python3.*/site-packages"))
    size = int(subprocess.run(["du", "-sk", str(site)], check=True, capture_output=True, text=True).stdout.split()[0])
    return len(names), size / 1024, seconds, names


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--only", help="comma-separated first words of the installs: core, image, image-report, make, before"
    )
    args = parser.parse_args()
    chosen = {k: v for k, v in INSTALLS.items() if not args.only or k.split()[0] in args.only.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp) / "dist"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(REPO)],
            check=True,
        )
        wheel = next(dist.glob("driftline-*.whl"))
        results = {}
        for name, extras in chosen.items():
            results[name] = measure(wheel, extras, Path(tmp) / name.split()[0])
        print(f"{'install':38} {'packages':>8} {'MB':>7} {'pip s':>6}")
        for name, (count, mb, seconds, _) in results.items():
            print(f"{name:38} {count:8d} {mb:7.0f} {seconds:6.0f}")
        if "core" in results:
            print("core:", ", ".join(results["core"][3]))
        if "core" in results and "before the split (core + report + demo)" in results:
            extra = sorted(set(results["before the split (core + report + demo)"][3]) - set(results["core"][3]))
            print(f"no longer in the core ({len(extra)}):", ", ".join(extra))


if __name__ == "__main__":
    main()
