"""driftline's multivariate drift against NannyML 0.13.1's DataReconstructionDriftCalculator on the same data.

Reference: 20,000 rows of x and y (standard normal, correlation 0.8), z (independent normal) and a category (three
values, independent). Windows of ``--rows`` rows: drawn like the reference, with the correlation flipped to −0.8
(every marginal unchanged), with it weakened to 0.4, and with x shifted by 0.5σ. NannyML runs in its own virtualenv
(``--nannyml PYTHON``, `benchmarks/install_peers.sh`) with ``chunk_size`` = the window's rows; driftline's profile
is built with ``multivariate: {}`` and evaluated by ``drift.evaluate``. Also: both tools' alert rates over
``--quiet`` no-drift windows.

    python benchmarks/bench_multivariate.py --nannyml .peers/nannyml/bin/python [--rows 2000] [--quiet 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import drift

CATEGORIES = np.array(["a", "b", "c"])


def rows_of(rng: np.random.Generator, n: int, rho: float, shift: float = 0.0) -> dict[str, np.ndarray]:
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return {"x": x + shift, "y": y, "z": rng.normal(size=n), "kind": rng.choice(CATEGORIES, n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nannyml", required=True, help="python of a virtualenv with nannyml==0.13.1")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--quiet", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    reference = rows_of(rng, 20_000, 0.8)
    cases = {
        "like the reference": rows_of(rng, args.rows, 0.8),
        "correlation flipped (0.8 → −0.8)": rows_of(rng, args.rows, -0.8),
        "correlation weakened (0.8 → 0.4)": rows_of(rng, args.rows, 0.4),
        "x shifted by 0.5σ": rows_of(rng, args.rows, 0.8, shift=0.5),
    }
    quiet = [rows_of(rng, args.rows, 0.8) for _ in range(args.quiet)]
    windows = [*cases.values(), *quiet]

    features = [{"name": n, "type": "numeric"} for n in ("x", "y", "z")] + [{"name": "kind", "type": "categorical"}]
    spec = {"name": "m", "reference": {"data": "r.csv", "profile": "p.json"}, "features": features, "multivariate": {}}
    model = drift.parse_config({"models": [spec]}).models[0]
    profile = drift.build_profile(pd.DataFrame(reference), model)
    ours = [drift.evaluate(profile, pd.DataFrame(w), model) for w in windows]

    with tempfile.TemporaryDirectory() as tmp:
        data: dict[str, np.ndarray] = {"windows": np.array(len(windows)), "rows": np.array(args.rows)}
        for prefix, rows in (("reference", reference), *((f"w{i}", w) for i, w in enumerate(windows))):
            for name, values in rows.items():
                data[f"{prefix}_{name}"] = values.astype(str) if name == "kind" else values
        path = Path(tmp) / "data.npz"
        np.savez(path, **data)  # type: ignore[arg-type]
        out = subprocess.run([args.nannyml, str(Path(__file__).parent / "nannyml_reconstruction.py"), str(path)],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    theirs = [json.loads(line) for line in out.splitlines()]

    print(f"reference 20,000 rows; windows of {args.rows} rows")
    print(
        "| window | driftline error | driftline band | p-value | driftline | NannyML error | NannyML upper | NannyML |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (name, _), result, nml in zip(cases.items(), ours, theirs, strict=False):
        mv = result.multivariate
        assert mv is not None
        print(f"| {name} | {mv.error:.3f} | {mv.upper:.3f} | {mv.pvalue:.2g} | {'DRIFT' if mv.drifted else 'ok'} | "
              f"{nml['error']:.3f} | {nml['upper']:.3f} | {'ALERT' if nml['alert'] else 'ok'} |")  # fmt: skip
    ours_quiet = sum(r.multivariate is not None and r.multivariate.drifted for r in ours[len(cases) :])
    theirs_quiet = sum(n["alert"] for n in theirs[len(cases) :])
    print(f"no-drift windows flagged: driftline {ours_quiet}/{args.quiet} (alpha {model.drift.alpha}), "
          f"NannyML {theirs_quiet}/{args.quiet}")  # fmt: skip


if __name__ == "__main__":
    main()
