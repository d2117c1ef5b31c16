"""`driftline gate` as a pipeline runs it, on the demo's churn world: the training-like data passes, the drifted
traffic fails naming its drifted columns, a file without a feature and a file too small to decide get exit codes of
their own — each verdict's numbers checked against the DataFrame API and pandas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import drift
from driftline.demo import data as demo
from tests.support import run_cli, write_config

pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("gate")
    training, model = demo.training_set(20_000, seed=0)
    training.to_parquet(tmp / "training.parquet")
    config = write_config(
        tmp,
        {
            "version": 1,
            "models": [
                {
                    "name": "churn-model",
                    "reference": {"data": str(tmp / "training.parquet"), "profile": str(tmp / "profile.json")},
                    "features": [{"name": n, "type": "numeric"} for n in demo.NUMERIC]
                    + [{"name": n, "type": "categorical"} for n in demo.CATEGORICAL],
                    "outputs": [{"name": demo.OUTPUT, "type": "numeric"}],
                    "window": {"min_rows": 100},
                }
            ],
        },
    )
    assert run_cli("profile", "--config", str(config)).returncode == 0
    rng = np.random.default_rng(7)
    files = {}
    for name, drifted in (("fresh", demo.NO_DRIFT), ("drifted", demo.Drift(1.0))):
        frame = demo.customers(5_000, rng, drifted)
        frame[demo.OUTPUT] = demo.predict(model, frame)
        frame.to_csv(tmp / f"{name}.csv", index=False)
        files[name] = tmp / f"{name}.csv"
    pd.read_csv(files["fresh"]).drop(columns=["tenure"]).to_csv(tmp / "no-tenure.csv", index=False)
    pd.read_csv(files["fresh"]).head(40).to_parquet(tmp / "small.parquet")
    files |= {"no-tenure": tmp / "no-tenure.csv", "small": tmp / "small.parquet"}
    loaded = drift.load_config(str(config))
    return {
        "config": config,
        "files": files,
        "model": loaded.models[0],
        "profile": drift.ReferenceProfile.load(str(tmp / "profile.json")),
    }


def gate(world: dict[str, Any], name: str, *options: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(
        "gate",
        "--config",
        str(world["config"]),
        "--model",
        "churn-model",
        "--data",
        str(world["files"][name]),
        *options,
    )
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


def test_training_like_data_passes(world: dict[str, Any]) -> None:
    code, verdict, stderr = gate(world, "fresh")
    assert code == 0, stderr
    assert verdict["passed"] is True and verdict["failed"] == [] and verdict["exit_code"] == 0
    assert verdict["rows"] == 5_000
    assert all(check["passed"] for check in verdict["checks"].values())
    assert verdict["checks"]["drift"]["drifted_features"] == []
    assert stderr.startswith("driftline gate: passed: default/churn-model:")


def test_drifted_traffic_fails_and_names_its_drifted_columns(world: dict[str, Any]) -> None:
    code, verdict, stderr = gate(world, "drifted")
    frame = pd.read_csv(world["files"]["drifted"])
    oracle = drift.evaluate(world["profile"], frame, world["model"])  # the whole file as one DataFrame
    assert oracle.drifted and oracle.drifted_features
    assert verdict["passed"] is False and code != 0
    check = verdict["checks"]["drift"]
    assert check["passed"] is False and check["drifted_features"] == list(oracle.drifted_features)
    assert check["drift_share"] == pytest.approx(oracle.drift_share)
    for name, column in oracle.features.items():
        assert verdict["result"]["features"][name]["psi"] == pytest.approx(column.psi, rel=1e-9)
    # prices went up 20%: monthly charges beyond the training data's maximum, counted as pandas counts them
    limit = pd.read_parquet(world["files"]["fresh"].parent / "training.parquet")["monthly_charges"].max()
    share = float((frame["monthly_charges"] > limit).mean())
    assert share > 0.01
    assert verdict["checks"]["data_quality"]["columns"]["monthly_charges"]["out_of_range"] == pytest.approx(share)
    assert {"column": "monthly_charges", "quality": "out_of_range", "share": pytest.approx(share), "limit": 0.01} in (
        verdict["checks"]["data_quality"]["violations"]
    )
    # data quality is more fundamental than drift: its code wins; the JSON lists both
    assert verdict["failed"] == ["data_quality", "drift"] and code == 3
    assert "monthly_charges out_of_range" in stderr and "dataset drift" in stderr


def test_what_fails_is_configurable(world: dict[str, Any]) -> None:
    code, verdict, _ = gate(world, "drifted", "--fail-on", "drift")
    assert code == 2 and verdict["failed"] == ["drift"]
    assert verdict["checks"]["data_quality"] | {"passed": False, "enforced": False} == verdict["checks"]["data_quality"]
    code, verdict, _ = gate(world, "drifted", "--fail-on", "schema,rows,data_quality", "--max-out-of-range", "0.5")
    assert code == 0 and verdict["passed"] is True
    assert verdict["checks"]["drift"]["passed"] is False and verdict["checks"]["drift"]["enforced"] is False


def test_a_file_missing_a_feature_has_its_own_exit_code(world: dict[str, Any]) -> None:
    code, verdict, stderr = gate(world, "no-tenure")
    assert code == 4
    assert verdict["failed"] == ["schema"] and verdict["checks"]["schema"]["missing_columns"] == ["tenure"]
    assert verdict["result"] is None
    assert "missing column(s) tenure" in stderr


def test_too_few_rows_to_decide(world: dict[str, Any]) -> None:
    """40 rows under window.min_rows 100: the exporter decides nothing on such a window, and neither does the gate."""
    code, verdict, _ = gate(world, "small")
    assert code == 5 and verdict["failed"] == ["rows"]
    assert verdict["checks"]["rows"] == {"passed": False, "enforced": True, "rows": 40, "min_rows": 100}
    assert verdict["checks"]["drift"]["decided"] is False and verdict["result"]["drift_share"] is None


def test_the_verdict_written_to_a_file(world: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "verdict" / "gate.json"
    code, verdict, _ = gate(world, "fresh", "--out", str(out))
    assert code == 0 and verdict == {}
    assert json.loads(out.read_text())["passed"] is True


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--data", "/nonexistent/data.csv"), "/nonexistent/data.csv"),
        (("--data", "x.csv", "--max-missing", "2"), "--max-missing"),
        (("--data", "x.csv", "--fail-on", "drift,speed"), "speed"),
        (("--data", "x.csv", "--profile", "/nonexistent/profile.json"), "/nonexistent/profile.json"),
    ],
)
def test_a_gate_that_cannot_run_exits_1_with_one_line(
    world: dict[str, Any], options: tuple[str, ...], named: str
) -> None:
    """Exit 1 is "could not judge", never one of the verdict's codes (argparse's own 2 would read as "drift")."""
    result = run_cli("gate", "--config", str(world["config"]), "--model", "churn-model", *options)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and named in result.stderr
