"""NannyML 0.13.1's performance estimation on the stream bench_estimation.py writes: multiclass CBPE or regression DLE.
Runs in NannyML's own virtualenv and imports nothing of driftline. Prints one JSON object per chunk: NannyML's
estimate of each metric and its lower and upper confidence bounds.

    python benchmarks/nannyml_estimation.py DATA.npz
"""

from __future__ import annotations

import json
import os
import sys
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML sends telemetry from inside fit/estimate
warnings.filterwarnings("ignore")


def main() -> None:
    import nannyml
    import numpy as np
    import pandas as pd

    data = dict(np.load(sys.argv[1], allow_pickle=False))
    task, rows = str(data["task"]), int(data["rows"])
    metrics = [str(m) for m in data["metrics"]]
    features = [str(f) for f in data["features"]]

    def frame(prefix: str) -> pd.DataFrame:
        columns = {name: data[f"{prefix}_{name}"] for name in features}
        columns["y_pred"] = data[f"{prefix}_y_pred"]
        columns["y_true"] = data[f"{prefix}_y_true"]
        if task == "multiclass":
            for k, label in enumerate(data["classes"]):
                columns[f"proba_{label}"] = data[f"{prefix}_scores"][:, k]
        return pd.DataFrame(columns)

    if task == "multiclass":
        estimator = nannyml.CBPE(
            metrics=metrics, y_pred="y_pred", y_true="y_true", problem_type="classification_multiclass",
            y_pred_proba={str(label): f"proba_{label}" for label in data["classes"]}, chunk_size=rows,
        )  # fmt: skip
    else:
        estimator = nannyml.DLE(
            metrics=metrics, feature_column_names=features, y_pred="y_pred", y_true="y_true", chunk_size=rows
        )
    estimator.fit(frame("reference"))
    result = estimator.estimate(frame("stream").drop(columns=["y_true"])).filter(period="analysis").to_df()
    for i in range(len(result)):
        row = {}
        for name in metrics:
            row[name] = float(result[(name, "value")].iloc[i])
            row[f"{name}_lower"] = float(result[(name, "lower_confidence_boundary")].iloc[i])
            row[f"{name}_upper"] = float(result[(name, "upper_confidence_boundary")].iloc[i])
        print(json.dumps(row))


if __name__ == "__main__":
    main()
