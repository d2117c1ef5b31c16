"""NannyML 0.13.1's CBPE on the stream bench_cbpe.py writes; runs in NannyML's own virtualenv and imports nothing of
driftline. Prints one JSON object per chunk: NannyML's estimated accuracy, ROC AUC and F1, and its alert flag for
accuracy.

    python benchmarks/nannyml_cbpe.py DATA.npz
"""

from __future__ import annotations

import json
import os
import sys
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML sends telemetry from inside fit/estimate
warnings.filterwarnings("ignore")

METRICS = ("accuracy", "roc_auc", "f1")


def frame(data: dict, prefix: str):  # type: ignore[no-untyped-def]
    import pandas as pd

    score = data[f"{prefix}_score"]
    return pd.DataFrame({"score": score, "y_pred": (score >= 0.5).astype(int), "y_true": data[f"{prefix}_label"]})


def main() -> None:
    import nannyml
    import numpy as np

    data = dict(np.load(sys.argv[1], allow_pickle=False))
    rows = int(data["rows"])
    estimator = nannyml.CBPE(
        metrics=list(METRICS), y_pred_proba="score", y_pred="y_pred", y_true="y_true",
        problem_type="classification_binary", chunk_size=rows,
    )  # fmt: skip
    estimator.fit(frame(data, "reference"))
    result = estimator.estimate(frame(data, "stream").drop(columns=["y_true"])).filter(period="analysis").to_df()
    for i in range(len(result)):
        row = {name: float(result[(name, "value")].iloc[i]) for name in METRICS}
        row["alert"] = bool(result[("accuracy", "alert")].iloc[i])
        print(json.dumps(row))


if __name__ == "__main__":
    main()
