"""river's ADWIN over error streams, for bench_adwin.py: runs in river's own virtualenv and imports nothing of
driftline. Reads an .npy of streams (one per row, values 0/1), writes for each the indices at which
``river.drift.ADWIN`` reported a drift, as one JSON list per line.

    python benchmarks/river_adwin.py STREAMS.npy DELTA
"""

from __future__ import annotations

import json
import sys

import numpy as np
from river.drift import ADWIN


def main() -> None:
    streams = np.load(sys.argv[1])
    delta = float(sys.argv[2])
    for stream in streams:
        detector = ADWIN(delta=delta)
        found = []
        for i, value in enumerate(stream.tolist()):
            detector.update(value)
            if detector.drift_detected:
                found.append(i)
        print(json.dumps(found))


if __name__ == "__main__":
    main()
