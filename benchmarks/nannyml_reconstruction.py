"""NannyML 0.13.1's data-reconstruction drift on the windows bench_multivariate.py writes; runs in NannyML's own
virtualenv and imports nothing of driftline. Prints one JSON object per window: NannyML's reconstruction error,
its upper threshold and whether it alerts.

    python benchmarks/nannyml_reconstruction.py DATA.npz
"""

from __future__ import annotations

import json
import os
import sys
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML sends telemetry from inside fit/calculate
warnings.filterwarnings("ignore")


def frame(data: dict, prefix: str):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame({"x": data[f"{prefix}_x"], "y": data[f"{prefix}_y"], "z": data[f"{prefix}_z"],
                         "kind": data[f"{prefix}_kind"].astype(str)})  # fmt: skip


def main() -> None:
    import nannyml
    import numpy as np

    data = dict(np.load(sys.argv[1], allow_pickle=False))
    reference = frame(data, "reference")
    windows = int(data["windows"])
    rows = int(data["rows"])
    calculator = nannyml.DataReconstructionDriftCalculator(column_names=["x", "y", "z", "kind"], chunk_size=rows).fit(
        reference
    )
    for i in range(windows):
        result = calculator.calculate(frame(data, f"w{i}")).filter(period="analysis").to_df()
        error = result[("reconstruction_error", "value")].iloc[0]
        upper = result[("reconstruction_error", "upper_threshold")].iloc[0]
        alert = bool(result[("reconstruction_error", "alert")].iloc[0])
        print(json.dumps({"error": float(error), "upper": float(upper), "alert": alert}))


if __name__ == "__main__":
    main()
