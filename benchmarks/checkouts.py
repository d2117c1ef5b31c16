"""Timing the same measurement in two checkouts in one run: the script re-runs itself with ``--measure`` under each
tree's ``PYTHONPATH`` and prints JSON, so the rounds interleave and the machine's noise falls on both alike."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def measure_in(tree: Path, script: str, *arguments: str) -> dict[str, Any]:
    """``script --measure [ARGUMENTS]`` run with ``tree`` first on the path: the JSON it prints."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, script, "--measure", *arguments]
    return dict(json.loads(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout))


def print_table(
    label: str, unit: str, names: list[str], rounds: list[tuple[dict[str, Any], dict[str, Any] | None]]
) -> None:
    """The best of the rounds per name, for this tree and (when measured) the other, and their ratio."""
    against = rounds[0][1] is not None
    print(f"| {label} | this tree ({unit}) |" + (f" against ({unit}) | ratio |" if against else ""))
    print("|---|---|" + ("---|---|" if against else ""))
    for name in names:
        ours = min(r[0][name] for r in rounds)
        line = f"| {name} | {ours:.3g} |"
        if against:
            theirs = min(r[1][name] for r in rounds if r[1] is not None)
            line += f" {theirs:.3g} | {ours / theirs:.2f} |"
        print(line)


def compare(
    script: str, against: Path | None, rounds: int, *arguments: str
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """``rounds`` interleaved measurements of this tree and (when given) the ``against`` checkout."""
    out = []
    for _ in range(rounds):
        theirs = measure_in(against.resolve(), script, *arguments) if against else None
        out.append((measure_in(HERE, script, *arguments), theirs))
    return out


def main(
    script: str, doc: str | None, measure: Callable[[], dict[str, float]], label: str, unit: str, names: list[str]
) -> None:
    """A timing script's command line: ``--against CHECKOUT`` and ``--rounds`` print the table of both trees;
    ``--measure`` (what :func:`compare` runs in each tree) prints this tree's timings as JSON."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout to time in the same run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return
    print_table(label, unit, names, compare(script, args.against, args.rounds))
