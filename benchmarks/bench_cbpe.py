"""driftline's performance estimation (CBPE) against the realised accuracy and NannyML 0.13.1's CBPE on the same
stream.

Two features; ``P(y = 1 | x) = σ(1.5·x₁ + x₂)`` throughout (covariate shift: the relation the calibration learnt
holds). The model's score is a miscalibrated monotone transform of that index with its threshold off the true
boundary. Reference: 20,000 labelled rows. Stream: ``--chunks`` chunks of ``--rows`` rows; the first third like the
reference, then the rows move step by step towards the region where the model is wrong, and realised accuracy falls.
driftline's profile is built with the target (isotonic calibration) and each chunk estimated by ``drift.evaluate``;
NannyML runs in its own virtualenv (``--nannyml PYTHON``, `benchmarks/install_peers.sh`) with ``chunk_size`` =
``--rows``. Reports each chunk's realised and estimated accuracy, and each tool's mean absolute error (accuracy, ROC
AUC, F1), how often the realised accuracy fell in driftline's band, and the drop decisions.

    python benchmarks/bench_cbpe.py --nannyml .peers/nannyml/bin/python [--rows 2000] [--chunks 15] [--runs 5]
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
from drift.quality.metrics import score

SPEC = {
    "name": "churn",
    "reference": {"data": "r.csv", "profile": "p.json"},
    "features": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"}],
    "outputs": [{"name": "score", "type": "numeric"}],
    "target": {"name": "label", "task": "classification", "prediction": "score", "positive": "1"},
}
METRICS = ("accuracy", "roc_auc", "f1")


def rows_of(rng: np.random.Generator, n: int, spread: float = 2.0, centre: float = 0.0) -> pd.DataFrame:
    x1, x2 = rng.normal(centre, spread, n), rng.normal(0.0, spread, n)
    index = 1.5 * x1 + x2
    truth = rng.random(n) < 1 / (1 + np.exp(-index))
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "score": 1 / (1 + np.exp(-(0.6 * index + 0.4))), "label": np.where(truth, "1", "0")}
    )


def stream(rng: np.random.Generator, chunks: int, rows: int) -> list[pd.DataFrame]:
    steady = chunks // 3
    moved = max(chunks - steady, 1)
    return [
        rows_of(rng, rows)
        if k < steady
        else rows_of(rng, rows, 2.0 - 1.5 * (k - steady + 1) / moved, -0.3 * (k - steady + 1) / moved)
        for k in range(chunks)
    ]


def nannyml(python: str, reference: pd.DataFrame, chunks: list[pd.DataFrame], rows: int) -> list[dict[str, float]]:
    whole = pd.concat(chunks, ignore_index=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(
            path,
            rows=np.array(rows),
            reference_score=reference["score"].to_numpy(),
            reference_label=(reference["label"] == "1").to_numpy().astype(int),
            stream_score=whole["score"].to_numpy(),
            stream_label=(whole["label"] == "1").to_numpy().astype(int),
        )
        script = Path(__file__).with_name("nannyml_cbpe.py")
        out = subprocess.run([python, str(script), str(path)], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nannyml", help="python of a virtualenv with nannyml==0.13.1 (omit: driftline alone)")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--chunks", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5, help="independent references and streams")
    args = parser.parse_args()
    model = drift.parse_config({"models": [SPEC]}).models[0]
    errors: dict[str, list[float]] = {f"{tool} {m}": [] for tool in ("driftline", "NannyML") for m in METRICS}
    inside = decided = agreed = nannyml_agreed = 0
    for run in range(args.runs):
        rng = np.random.default_rng(2026 + run)
        reference = rows_of(rng, 20_000)
        chunks = stream(rng, args.chunks, args.rows)
        profile = drift.build_profile(reference, model)
        assert profile.performance is not None
        baseline = profile.performance.metrics["accuracy"]
        theirs = nannyml(args.nannyml, reference, chunks, args.rows) if args.nannyml else []
        if run == 0:
            columns = [
                "chunk",
                "realised accuracy",
                "driftline estimate (band)",
                *(["NannyML estimate"] if theirs else []),
            ]
            print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
        for k, chunk in enumerate(chunks):
            estimated = drift.evaluate(profile, chunk, model).estimated
            assert estimated is not None
            realised = score(
                "classification", chunk["label"].to_numpy(dtype=object), chunk["score"].to_numpy(), positive="1"
            ).metrics
            for m in METRICS:
                errors[f"driftline {m}"].append(abs(estimated.metrics[m] - realised[m]))
                if theirs:
                    errors[f"NannyML {m}"].append(abs(theirs[k][m] - realised[m]))
            inside += estimated.lower["accuracy"] <= realised["accuracy"] <= estimated.upper["accuracy"]
            dropped = (baseline - realised["accuracy"]) / baseline >= 0.1
            decided += 1
            agreed += estimated.dropped == dropped
            nannyml_agreed += bool(theirs) and theirs[k]["alert"] == dropped
            if run == 0:
                band = f"{estimated.lower['accuracy']:.3f}–{estimated.upper['accuracy']:.3f}"
                line = f"| {k} | {realised['accuracy']:.3f} | {estimated.metrics['accuracy']:.3f} ({band}) |"
                if theirs:
                    line += f" {theirs[k]['accuracy']:.3f} |"
                print(line)
    print(f"\n{args.runs} runs × {args.chunks} chunks of {args.rows} rows; reference accuracy ≈ {baseline:.3f}")
    print("| tool | MAE accuracy | MAE ROC AUC | MAE F1 |\n|---|---|---|---|")
    for tool in ("driftline", "NannyML"):
        if errors[f"{tool} accuracy"]:
            print(f"| {tool} | " + " | ".join(f"{np.mean(errors[f'{tool} {m}']):.4f}" for m in METRICS) + " |")
    print(f"realised accuracy inside driftline's 95% band: {inside}/{decided} chunks")
    print(f"driftline's estimated drop = realised loss ≥ 10%: {agreed}/{decided} chunks")
    if args.nannyml:
        print(f"NannyML's accuracy alert = realised loss ≥ 10%: {nannyml_agreed}/{decided} chunks")


if __name__ == "__main__":
    main()
