"""A restart loses nothing: a real `driftline serve` killed with SIGKILL (or stopped with SIGTERM) comes back with
the same drift numbers from its checkpoint; a new profile starts the window afresh and says so."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.support import (
    ExporterProcess,
    churn_frame,
    config_dict,
    label_entries,
    labelled_churn_frame,
    labels,
    post_labels,
    run_cli,
    scrape,
    send_predictions,
    target_config,
    wait_for,
)
from tests.support.service import only_stream

MODEL = {"model": "churn-model", "model_namespace": "default"}
FEATURES = ["tenure", "monthly_charges", "contract", "internet_service"]
HEADERS = {"Ce-Type": "org.kubeflow.serving.inference.request", "Ce-Inferenceservicename": "churn-model",
           "Ce-Namespace": "default", "Ce-Specversion": "1.0", "Content-Type": "application/json"}  # fmt: skip
DRIFT_FAMILIES = (
    "driftline_feature_psi",
    "driftline_feature_psi_pvalue",
    "driftline_feature_ks_statistic",
    "driftline_feature_ks_pvalue",
    "driftline_feature_chi2_pvalue",
    "driftline_feature_js_distance",
    "driftline_feature_drifted",
    "driftline_prediction_psi",
    "driftline_dataset_drift_share",
    "driftline_dataset_drifted",
    "driftline_window_samples",
    "driftline_output_window_samples",
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    churn_frame(8000, seed=3).to_csv(tmp_path / "train.csv", index=False)
    content = config_dict()
    content["exporter"] = {"evaluate_every": "200ms", "state_dir": "state", "checkpoint_every": "200ms"}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(content))
    assert run_cli("profile", "--config", str(path)).returncode == 0
    return path


def send(url: str, rows: int, seed: int, shift: float) -> None:
    window = churn_frame(rows, seed=seed, shift=shift)
    session = requests.Session()
    for start in range(0, rows, 50):
        chunk = window.iloc[start : start + 50]
        body = {"instances": chunk[FEATURES].to_dict(orient="records")}
        assert session.post(url, json=body, headers=HEADERS, timeout=5).status_code == 202
        response = {"predictions": chunk["churn_probability"].tolist()}
        response_headers = {**HEADERS, "Ce-Type": "org.kubeflow.serving.inference.response"}
        assert session.post(url, json=response, headers=response_headers, timeout=5).status_code == 202


def drift_numbers(url: str, rows: int) -> dict[str, Any]:
    """The drift families once the evaluator has seen ``rows`` rows (and one more evaluation for a stable scrape)."""
    wait_for(lambda: scrape(url).get("driftline_window_samples", {}).get(labels(**MODEL)) == rows, timeout=120)
    time.sleep(0.5)
    metrics = scrape(url)
    return {name: metrics.get(name, {}) for name in DRIFT_FAMILIES}


def checkpointed_after(url: str, moment: float) -> bool:
    stamp = scrape(url).get("driftline_checkpoint_last_success_timestamp_seconds", {}).get((), 0.0)
    return stamp > moment


def test_sigkill_then_restart_serves_the_same_drift_numbers(config: Path, tmp_path: Path) -> None:
    log = tmp_path / "exporter.log"
    with ExporterProcess(config, log) as exporter:
        exporter.wait_until("/readyz")
        send(exporter.url, 1500, seed=4, shift=1.0)
        before = drift_numbers(exporter.url, 1500)
        sent = time.time()
        wait_for(lambda: checkpointed_after(exporter.url, sent), timeout=120)
        exporter.kill()
    assert before["driftline_feature_drifted"][labels(**MODEL, feature="monthly_charges")] == 1.0  # worth restoring
    with ExporterProcess(config, log) as exporter:
        exporter.wait_until("/readyz")
        after = drift_numbers(exporter.url, 1500)
        restores = scrape(exporter.url)["driftline_window_restores_total"][labels(**MODEL)]
    assert after == before
    assert restores == 1.0
    messages = [json.loads(line)["msg"] for line in log.read_text().splitlines()]
    assert "window restored from its checkpoint" in messages


def test_sigterm_checkpoints_the_last_rows(config: Path, tmp_path: Path) -> None:
    content = yaml.safe_load(config.read_text())
    content["exporter"]["checkpoint_every"] = "1h"  # only the shutdown writes one
    config.write_text(yaml.safe_dump(content))
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        send(exporter.url, 700, seed=5, shift=0.0)
        before = drift_numbers(exporter.url, 700)
        assert exporter.stop() in (0, -15)  # SIGTERM
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        assert drift_numbers(exporter.url, 700) == before


def test_a_new_profile_starts_the_window_empty_and_says_so(config: Path, tmp_path: Path) -> None:
    log = tmp_path / "exporter.log"
    with ExporterProcess(config, log) as exporter:
        exporter.wait_until("/readyz")
        send(exporter.url, 500, seed=6, shift=0.0)
        drift_numbers(exporter.url, 500)
    churn_frame(8000, seed=99).to_csv(tmp_path / "train.csv", index=False)  # the model was retrained
    assert run_cli("profile", "--config", str(config)).returncode == 0
    with ExporterProcess(config, log) as exporter:
        exporter.wait_until("/readyz")
        metrics = wait_for(
            lambda: (m := scrape(exporter.url)).get("driftline_window_samples", {}).get(labels(**MODEL)) == 0 and m
        )
        assert metrics["driftline_window_resets_total"][labels(**MODEL, reason="new_profile")] == 1.0
        send(exporter.url, 200, seed=7, shift=0.0)
        drift_numbers(exporter.url, 200)
    messages = [json.loads(line)["msg"] for line in log.read_text().splitlines()]
    assert "new reference profile: the window starts empty (its counts were in the old bins)" in messages


def test_finding_11_sigkill_loses_neither_the_labelled_window_nor_the_predictions_awaiting_labels(
    tmp_path: Path,
) -> None:
    """A model with a target, killed with SIGKILL: after the restart the labelled window and its quality numbers are
    the same, labels for predictions made before the kill still join, and the drift numbers are back within one
    evaluation — so nothing the alerts read goes away and comes back (no flapping, no second incident)."""
    path, content = target_config(tmp_path)
    content["exporter"].update(state_dir="state", checkpoint_every="200ms")
    path.write_text(yaml.safe_dump(content))
    assert run_cli("profile", "--config", str(path)).returncode == 0
    frame = labelled_churn_frame(1000, seed=21)
    log = tmp_path / "exporter.log"
    quality = ("driftline_performance", "driftline_labelled_window_samples", "driftline_performance_dropped")
    with ExporterProcess(path, log) as exporter:
        exporter.wait_until("/readyz")
        ids = send_predictions(exporter.url, frame)
        entries = label_entries(ids, frame["churned"].to_numpy())
        assert post_labels(exporter.url, entries[:600])["joined"] == 600
        before = drift_numbers(exporter.url, 1000)
        wait_for(lambda: scrape(exporter.url)["driftline_labelled_window_samples"][labels(**MODEL)] == 600)
        time.sleep(0.5)
        scraped = scrape(exporter.url)
        before_quality = {name: scraped[name] for name in quality}
        sent = time.time()
        wait_for(lambda: checkpointed_after(exporter.url, sent), timeout=120)
        exporter.kill()
    with ExporterProcess(path, log) as exporter:
        exporter.wait_until("/readyz")
        assert drift_numbers(exporter.url, 1000) == before
        wait_for(lambda: scrape(exporter.url)["driftline_labelled_window_samples"][labels(**MODEL)] == 600)
        time.sleep(0.5)
        scraped = scrape(exporter.url)
        assert {name: scraped[name] for name in quality} == before_quality
        outcomes = post_labels(exporter.url, entries[600:] + entries[:10])
        assert outcomes["joined"] == 400 and outcomes["duplicate"] == 10 and outcomes.get("unmatched", 0) == 0
    messages = [json.loads(line)["msg"] for line in log.read_text().splitlines()]
    assert "ground truth restored from its checkpoint" in messages


def test_a_full_disk_keeps_the_last_checkpoint_whole_and_is_counted(tmp_path: Path) -> None:
    """The state directory on a 1 MB tmpfs: when it fills, writing a checkpoint fails, is counted and logged, and
    the previous checkpoint still loads; once space returns the next one is written."""
    import subprocess

    import drift
    from exporters.checkpoint import Checkpoints
    from exporters.service import ExporterService

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    assert mounted.returncode == 0, f"mounting a tmpfs needs root: {mounted.stderr.decode()}"
    try:
        churn_frame(4000, seed=3).to_csv(tmp_path / "train.csv", index=False)
        content = config_dict()
        content["exporter"] = {"state_dir": str(disk / "state")}
        config = tmp_path / "monitor.yaml"
        config.write_text(yaml.safe_dump(content))
        assert run_cli("profile", "--config", str(config)).returncode == 0
        service = ExporterService(drift.load_config(config))
        service.refresh_references()
        monitor = service.models[("churn-model", "default")].stream()
        assert monitor is not None
        frame = churn_frame(500, seed=4)
        numeric = frame[["tenure", "monthly_charges"]].to_numpy()
        categorical = frame[["contract", "internet_service"]].to_numpy(dtype=object)
        monitor.features.append_block(numeric, categorical, 500, time.time())
        service.checkpoint()
        saved = Checkpoints(str(disk / "state")).load("default", "churn-model")
        filler = disk / "filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        monitor.features.append_block(numeric, categorical, 500, time.time())
        service.checkpoint()
        errors = service.registry.get_sample_value("driftline_checkpoint_errors_total")
        assert errors == 1
        again = Checkpoints(str(disk / "state")).load("default", "churn-model")
        assert again.windows["features"].rows.sum() == saved.windows["features"].rows.sum() == 500
        assert [p.name for p in (disk / "state").iterdir()] == ["default%2Fchurn-model.npz"]  # no temporary left
        filler.unlink()
        service.checkpoint()
        assert Checkpoints(str(disk / "state")).load("default", "churn-model").windows["features"].rows.sum() == 1000
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_rows_not_yet_counted_are_in_the_next_checkpoint(tmp_path: Path) -> None:
    """Rows wait in the window until 512 have arrived or an evaluation runs; a checkpoint counts and keeps them, so a
    kill loses at most checkpoint_every, not evaluate_every."""
    import drift
    from exporters.checkpoint import Checkpoints
    from exporters.service import ExporterService

    churn_frame(4000, seed=3).to_csv(tmp_path / "train.csv", index=False)
    content = config_dict()
    content["exporter"] = {"state_dir": "state"}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(content))
    assert run_cli("profile", "--config", str(config)).returncode == 0
    service = ExporterService(drift.load_config(config))
    service.refresh_references()
    service.checkpoint()
    frame = churn_frame(10, seed=4)
    numeric = frame[["tenure", "monthly_charges"]].to_numpy()
    categorical = frame[["contract", "internet_service"]].to_numpy(dtype=object)
    only_stream(service).features.append_block(numeric, categorical, 10, time.time())
    service.checkpoint()
    saved = Checkpoints(str(tmp_path / "state")).load("default", "churn-model")
    assert saved.windows["features"].rows.sum() == 10
