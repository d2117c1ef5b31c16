"""Team model files (``model_files.dir``) as a team writes them: one model, its reference beside the file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ("a", "b", "c")


def team_file(folder: Path, name: str, model: str = "team-model", psi_threshold: float = 0.1) -> Path:
    """A team's file naming one model whose reference (relative to the file) is ``data/train.csv``."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    if not (folder / "data" / "train.csv").exists():
        rng = np.random.default_rng(0)
        pd.DataFrame({c: rng.normal(size=3000) for c in FEATURES}).to_csv(folder / "data" / "train.csv", index=False)
    path = folder / name
    path.write_text(
        textwrap.dedent(
            f"""\
            models:
              - name: {model}
                namespace: team-a
                reference: {{data: data/train.csv, profile: data/{model}.json}}
                features: [{", ".join(f"{{name: {c}, type: numeric}}" for c in FEATURES)}]
                window: {{size: 2000, max_age: 1h, min_rows: 50}}
                drift: {{psi_threshold: {psi_threshold}}}
            """
        )
    )
    return path
