"""Times one peer library's drift evaluation, driven by bench_stats.py over stdin/stdout (one JSON object per line).

Runs inside the peer's own virtualenv (its pins conflict with ours), so it imports nothing of driftline:

    {"op": "prepare", "case": NAME, "dir": DIR}  -> fit the peer on DIR/reference.npz (outside any timer)
    {"op": "time", "case": NAME}                 -> {"seconds": one timed evaluation of DIR/window.npz}

    python benchmarks/peer_worker.py nannyml|evidently|alibi
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML sends telemetry from inside fit/calculate
warnings.filterwarnings("ignore")


def frame(path: Path) -> Any:
    import numpy as np
    import pandas as pd

    data = np.load(path, allow_pickle=False)
    columns = {f"n{i:03d}": data["numeric"][:, i] for i in range(data["numeric"].shape[1])}
    columns.update({f"c{i:03d}": data["categorical"][:, i].astype(object) for i in range(data["categorical"].shape[1])})
    return pd.DataFrame(columns)


class NannyML:
    def __init__(self, reference: Any, window_rows: int) -> None:
        import nannyml

        numeric = [c for c in reference.columns if c.startswith("n")]
        categorical = [c for c in reference.columns if c.startswith("c")]
        for name in categorical:
            reference[name] = reference[name].astype("category")
        self.calculator = nannyml.UnivariateDriftCalculator(
            column_names=numeric + categorical,
            continuous_methods=["kolmogorov_smirnov", "jensen_shannon"],
            categorical_methods=["chi2", "jensen_shannon"],
            chunk_size=window_rows,
        )
        self.calculator.fit(reference)

    def run(self, window: Any) -> None:
        self.calculator.calculate(window)


class Evidently:
    def __init__(self, reference: Any, window_rows: int) -> None:
        self.reference = reference

    def run(self, window: Any) -> None:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        Report([DataDriftPreset(method="psi")]).run(window, self.reference)


class Alibi:
    def __init__(self, reference: Any, window_rows: int) -> None:
        from alibi_detect.cd import TabularDrift

        self.categorical = [i for i, c in enumerate(reference.columns) if c.startswith("c")]
        self.codes = {i: sorted(set(reference.iloc[:, i])) for i in self.categorical}
        self.detector = TabularDrift(
            self.encode(reference), p_val=0.05, categories_per_feature={i: None for i in self.categorical}
        )

    def encode(self, data: Any) -> Any:
        import numpy as np
        import pandas as pd

        out = data.copy()
        for i, known in self.codes.items():
            out.iloc[:, i] = pd.Categorical(data.iloc[:, i], categories=known).codes  # vectorised; unseen = -1
        return out.to_numpy(dtype=np.float32)

    def run(self, window: Any) -> None:
        self.detector.predict(self.encode(window))  # the encoding is part of what a user pays


PEERS = {"nannyml": NannyML, "evidently": Evidently, "alibi": Alibi}


def main() -> None:
    peer = PEERS[sys.argv[1]]
    prepared: dict[str, tuple[Any, Any]] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "prepare":
            directory = Path(request["dir"])
            window = frame(directory / "window.npz")
            prepared[request["case"]] = (peer(frame(directory / "reference.npz"), len(window)), window)
            reply: dict[str, Any] = {"ok": True}
        else:
            runner, window = prepared[request["case"]]
            start = time.perf_counter()
            runner.run(window)
            reply = {"seconds": time.perf_counter() - start}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
