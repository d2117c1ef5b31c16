"""Performance estimated before the labels, beyond binary classifiers: driftline against the realised metrics and
NannyML 0.13.1 on the same streams — multiclass CBPE, and regression DLE.

Each stream undergoes covariate shift into the model's weak region: ``P(y | x)`` never changes, the inputs move
towards where the model is wrong, and the realised quality falls. ``--chunks`` chunks of ``--rows`` rows; the first
third like the 20,000-row labelled reference, then step by step further away.

* ``multiclass``: three classes, ``P(y | x) = softmax(1.2·x₁, 0.8·x₂, 0.3 − 0.6·x₁ − 0.5·x₂)``; the model's scores
  are a tempered softmax of logits with a bias towards class ``a``, so it errs where the classes overlap, and the
  stream moves there.
* ``regression``: ``y = 3 sin(x₁) + x₂ + ε``, ``ε ~ N(0, (0.5 + 0.5|x₂|)²)``; the model is a straight line in
  ``x₁``, good near the origin and wrong further out, where the stream moves.

driftline estimates each chunk with ``drift.evaluate`` (profile built with the target); NannyML runs in its own
virtualenv (``--nannyml PYTHON``; `benchmarks/install_peers.sh`) with ``chunk_size = --rows``. Prints each tool's
mean absolute error against the realised metric and how often the realised metric fell inside each tool's band.

    python benchmarks/bench_estimation.py --task multiclass --nannyml .peers/nannyml/bin/python [--runs 5]
    python benchmarks/bench_estimation.py --task regression --nannyml .peers/nannyml/bin/python [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import drift
from drift.quality.metrics import ClassScores, classification_metrics, ovr_roc_auc, regression_metrics

CLASSES = ("a", "b", "c")
FEATURES = [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"}]
SPECS: dict[str, dict[str, Any]] = {
    "multiclass": {
        "outputs": [{"name": "y_pred", "type": "categorical"}]
        + [{"name": f"proba_{c}", "type": "numeric"} for c in CLASSES],
        "target": {
            "name": "y_true",
            "task": "classification",
            "prediction": "y_pred",
            "scores": {c: f"proba_{c}" for c in CLASSES},
        },
    },
    "regression": {
        "outputs": [{"name": "y_pred", "type": "numeric"}],
        "target": {"name": "y_true", "task": "regression", "prediction": "y_pred", "metric": "mae"},
    },
}
METRICS = {"multiclass": ("accuracy", "f1", "roc_auc"), "regression": ("mae", "rmse", "mape")}


def softmax(logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def multiclass_rows(rng: np.random.Generator, n: int, spread: float, centre: float) -> pd.DataFrame:
    x1, x2 = rng.normal(centre, spread, n), rng.normal(0.0, spread, n)
    truth = softmax(np.column_stack([1.2 * x1, 0.8 * x2, 0.3 - 0.6 * x1 - 0.5 * x2]))
    y = (rng.random(n)[:, None] >= np.cumsum(truth, axis=1)[:, :-1]).sum(axis=1)
    scores = softmax(0.7 * np.column_stack([1.2 * x1 + 0.9, 0.8 * x2, 0.3 - 0.6 * x1 - 0.5 * x2]))
    frame = pd.DataFrame({"x1": x1, "x2": x2, "y_true": np.array(CLASSES)[y]})
    frame["y_pred"] = np.array(CLASSES)[scores.argmax(axis=1)]
    for k, label in enumerate(CLASSES):
        frame[f"proba_{label}"] = scores[:, k]
    return frame


def regression_rows(rng: np.random.Generator, n: int, spread: float, centre: float) -> pd.DataFrame:
    x1, x2 = rng.normal(centre, spread, n), rng.normal(0.0, 1.0, n)
    y = 3 * np.sin(x1) + x2 + rng.normal(0.0, 1.0, n) * (0.5 + 0.5 * np.abs(x2))
    return pd.DataFrame({"x1": x1, "x2": x2, "y_true": y, "y_pred": 2.4 * x1 * np.exp(-0.02 * x1**2) + x2})


def stream(
    rows_of: Callable[..., pd.DataFrame], rng: np.random.Generator, chunks: int, rows: int, task: str
) -> list[pd.DataFrame]:
    steady = chunks // 3
    moved = max(chunks - steady, 1)
    out = []
    for k in range(chunks):
        step = max(k - steady + 1, 0) / moved
        if task == "multiclass":  # towards the overlap near the origin, where the bias to "a" errs
            out.append(rows_of(rng, rows, 2.0 - 1.6 * step, -0.6 * step))
        else:  # away from the origin, where the straight line misses the sine
            out.append(rows_of(rng, rows, 1.0 + 0.6 * step, 1.5 * step))
    return out


def realised(task: str, chunk: pd.DataFrame) -> dict[str, float]:
    if task == "regression":
        return regression_metrics(chunk["y_true"].to_numpy(), chunk["y_pred"].to_numpy())
    labels = chunk["y_true"].to_numpy(dtype=object)
    metrics = classification_metrics(labels, chunk["y_pred"].to_numpy(dtype=object))
    scores = ClassScores(CLASSES, chunk[[f"proba_{c}" for c in CLASSES]].to_numpy())
    area = ovr_roc_auc(labels, scores.classes, scores.matrix)
    return {**metrics, **({"roc_auc": area} if area is not None else {})}


def nannyml(
    python: str, task: str, reference: pd.DataFrame, chunks: list[pd.DataFrame], rows: int
) -> list[dict[str, float]]:
    whole = pd.concat(chunks, ignore_index=True)
    arrays: dict[str, Any] = {
        "task": np.array(task),
        "rows": np.array(rows),
        "metrics": np.array(METRICS[task]),
        "features": np.array(["x1", "x2"]),
        "classes": np.array(CLASSES),
    }
    for prefix, frame in (("reference", reference), ("stream", whole)):
        for name in ("x1", "x2", "y_pred", "y_true"):
            values = frame[name].to_numpy()
            arrays[f"{prefix}_{name}"] = values.astype(str) if values.dtype == object else values
        if task == "multiclass":
            arrays[f"{prefix}_scores"] = frame[[f"proba_{c}" for c in CLASSES]].to_numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, **arrays)
        script = Path(__file__).with_name("nannyml_estimation.py")
        out = subprocess.run([python, str(script), str(path)], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", choices=tuple(SPECS), required=True)
    parser.add_argument("--nannyml", help="python of a virtualenv with nannyml==0.13.1 (omit: driftline alone)")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--chunks", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5, help="independent references and streams")
    args = parser.parse_args()
    task, metrics = args.task, METRICS[args.task]
    spec = {"name": "model", "reference": {"data": "r.csv", "profile": "p.json"}, "features": FEATURES, **SPECS[task]}
    model = drift.parse_config({"models": [spec]}).models[0]
    rows_of = multiclass_rows if task == "multiclass" else regression_rows
    centre = {"multiclass": (2.0, 0.0), "regression": (1.0, 0.0)}[task]
    errors: dict[str, list[float]] = {f"{tool} {m}": [] for tool in ("driftline", "NannyML") for m in metrics}
    inside: dict[str, int] = {f"{tool} {m}": 0 for tool in ("driftline", "NannyML") for m in metrics}
    total = 0
    for run in range(args.runs):
        rng = np.random.default_rng(2026 + run)
        reference = rows_of(rng, 20_000, *centre)
        chunks = stream(rows_of, rng, args.chunks, args.rows, task)
        profile = drift.build_profile(reference, model)
        theirs = nannyml(args.nannyml, task, reference, chunks, args.rows) if args.nannyml else []
        if run == 0:
            first = metrics[0]
            print(f"| chunk | realised {first} | driftline (band) |" + (" NannyML (band) |" if theirs else ""))
            print("|---|---|---|" + ("---|" if theirs else ""))
        for k, chunk in enumerate(chunks):
            estimated = drift.evaluate(profile, chunk, model).estimated
            assert estimated is not None, "no estimate: is the profile's loss model or calibration missing?"
            truth = realised(task, chunk)
            total += 1
            for m in metrics:
                errors[f"driftline {m}"].append(abs(estimated.metrics[m] - truth[m]))
                inside[f"driftline {m}"] += estimated.lower[m] <= truth[m] <= estimated.upper[m]
                if theirs:
                    errors[f"NannyML {m}"].append(abs(theirs[k][m] - truth[m]))
                    inside[f"NannyML {m}"] += theirs[k][f"{m}_lower"] <= truth[m] <= theirs[k][f"{m}_upper"]
            if run == 0:
                m = metrics[0]
                line = f"| {k} | {truth[m]:.3f} | {estimated.metrics[m]:.3f} ({estimated.lower[m]:.3f}–"
                line += f"{estimated.upper[m]:.3f}) |"
                if theirs:
                    line += f" {theirs[k][m]:.3f} ({theirs[k][f'{m}_lower']:.3f}–{theirs[k][f'{m}_upper']:.3f}) |"
                print(line)
    print(f"\n{task}: {args.runs} runs × {args.chunks} chunks of {args.rows} rows")
    print(
        "| tool | "
        + " | ".join(f"MAE {m}" for m in metrics)
        + " | "
        + " | ".join(f"in band, {m}" for m in metrics)
        + " |"
    )
    print("|---" * (1 + 2 * len(metrics)) + "|")
    for tool in ("driftline", "NannyML"):
        if errors[f"{tool} {metrics[0]}"]:
            maes = " | ".join(f"{np.mean(errors[f'{tool} {m}']):.4f}" for m in metrics)
            bands = " | ".join(f"{inside[f'{tool} {m}']}/{total}" for m in metrics)
            print(f"| {tool} | {maes} | {bands} |")


if __name__ == "__main__":
    main()
