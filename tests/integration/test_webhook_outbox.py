"""The retraining webhook's outbox on a real, small filesystem (a tmpfs mounted for the test): a disk that fills up
while GitHub is answering costs neither the delivery worker nor the incident, and a folder that cannot hold the
outbox is a one-line error at start."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.support import (
    Answer,
    FakeGitHub,
    WebhookProcess,
    alert,
    notification,
    run_cli,
    wait,
    webhook_config,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs: the tests run as root on CI and here, like the project's CI machine."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)], capture_output=True
    )
    assert result.returncode == 0, f"mounting a tmpfs needs root: {result.stderr.decode()}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def outbox_states(webhook: WebhookProcess) -> dict[str, float]:
    metrics = webhook.metrics()
    return {
        state: metrics[f'driftline_retrain_outbox_dispatches{{"state": "{state}"}}']
        for state in ("pending", "sending", "delivered", "failed")
    }


def test_finding_2_a_disk_that_fills_during_a_delivery_costs_neither_the_worker_nor_the_incident(
    tmp_path: Path, small_disk: Path
) -> None:
    with FakeGitHub() as github:
        github.answer(Answer(204, hang=3.0))  # the disk fills while GitHub takes its time
        config = webhook_config(tmp_path, github.url, state=str(small_disk / "webhook.sqlite"))
        settings = yaml.safe_load(config.read_text())
        settings["webhook"]["github"]["timeout"] = "10s"  # GitHub's slow answer is an answer, not a time-out
        config.write_text(yaml.safe_dump(settings))
        webhook = WebhookProcess(config, tmp_path / "webhook.log")
        try:
            webhook.wait_ready()
            assert stat.S_IMODE(os.stat(small_disk / "webhook.sqlite").st_mode) == 0o600  # finding 8: not 0644
            assert webhook.notify(notification(alert())).json()["outcomes"] == {"dispatched": 1}
            wait(lambda: outbox_states(webhook)["sending"] == 1, 120, "the delivery in flight")
            filler = fill(small_disk)

            # GitHub answers 204; the outbox cannot record it. The worker lives on and says so.
            wait(lambda: requests.get(webhook.url + "/healthz", timeout=5).json()["status"] == "degraded", 15,
                 "/healthz to report the outbox")  # fmt: skip
            health = requests.get(webhook.url + "/healthz", timeout=5)
            assert health.status_code == 200 and "full" in health.json()["outbox_error"]
            assert webhook.metrics()["driftline_retrain_outbox_errors_total"] >= 1
            assert outbox_states(webhook)["sending"] == 1  # still counted by DriftlineRetrainingStuck
            refused = webhook.notify(notification(alert(model="price", namespace="retail"), group="price"))
            assert refused.status_code == 503 and refused.json()["reason"] == "outbox_unavailable"
            time.sleep(2.0)
            assert len(github.calls) == 1, "the delivered dispatch was sent again while its outcome was unwritten"

            filler.unlink()  # space returns
            wait(lambda: outbox_states(webhook)["delivered"] == 1, 120, "the outcome to be written")
            assert requests.get(webhook.url + "/healthz", timeout=5).json() == {"status": "ok"}
            again = webhook.notify(notification(alert(model="price", namespace="retail"), group="price"))
            assert again.json()["outcomes"] == {"dispatched": 1}  # Alertmanager's retry of the refused one
            wait(lambda: len(github.delivered()) == 2, 120, "the second model's dispatch")
        finally:
            assert webhook.stop() in (0, -15), (tmp_path / "webhook.log").read_text()

        restarted = WebhookProcess(config, tmp_path / "webhook.log")
        try:
            restarted.wait_ready()
            time.sleep(1.5)
            assert outbox_states(restarted) == {"pending": 0, "sending": 0, "delivered": 2, "failed": 0}
        finally:
            restarted.stop()
        models = sorted(call.body["client_payload"]["model"] for call in github.calls)
        assert models == ["churn-model", "price"], "each incident reached GitHub exactly once"
    log = (tmp_path / "webhook.log").read_text()
    assert log.count("the outbox cannot be written") == 1 and "Traceback" not in log


def test_finding_9_an_outbox_folder_that_cannot_be_written_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the outbox's folder should be")
    config = webhook_config(tmp_path, "http://127.0.0.1:9", state=str(blocker / "webhook.sqlite"))
    started = run_cli("webhook", "--config", str(config), env={"DRIFTLINE_WEBHOOK_TOKEN": "t", "GITHUB_TOKEN": "g"})
    assert started.returncode == 1, started.stderr
    assert started.stderr.count("\n") == 1 and "Traceback" not in started.stderr
    assert "webhook.state" in started.stderr and str(blocker) in started.stderr


def test_the_outbox_folder_is_never_created_behind_the_users_back(tmp_path: Path) -> None:
    """The example's /var/lib/driftline/webhook.sqlite on a laptop: one line saying what to create, nothing made."""
    nowhere = tmp_path / "var" / "lib" / "driftline"
    config = webhook_config(tmp_path, "http://127.0.0.1:9", state=str(nowhere / "webhook.sqlite"))
    started = run_cli("webhook", "--config", str(config), env={"DRIFTLINE_WEBHOOK_TOKEN": "t", "GITHUB_TOKEN": "g"})
    assert started.returncode == 1 and started.stderr.count("\n") == 1, started.stderr
    assert f"webhook.state: {nowhere} does not exist; create the folder" in started.stderr
    assert not (tmp_path / "var").exists()


def test_finding_9_a_full_disk_at_start_is_a_one_line_error(tmp_path: Path, small_disk: Path) -> None:
    fill(small_disk)
    config = webhook_config(tmp_path, "http://127.0.0.1:9", state=str(small_disk / "webhook.sqlite"))
    started = run_cli("webhook", "--config", str(config), env={"DRIFTLINE_WEBHOOK_TOKEN": "t", "GITHUB_TOKEN": "g"})
    assert started.returncode == 1 and started.stderr.count("\n") == 1, started.stderr
    assert "webhook.state: cannot open the outbox" in started.stderr


def test_finding_7_github_trickling_its_answer_holds_the_worker_for_github_timeout_in_total(tmp_path: Path) -> None:
    """An answer sent at one byte every 0.3 s would take minutes; with github.timeout 1s the call is cut at 1 s in
    total (not per read), so the other model's dispatch goes out while the trickle is still going."""
    with FakeGitHub() as github:
        github.answer(Answer(204, trickle=0.3))
        config = webhook_config(tmp_path, github.url)  # github.timeout: 1s
        webhook = WebhookProcess(config, tmp_path / "webhook.log")
        try:
            webhook.wait_ready()
            assert webhook.notify(notification(alert())).json()["outcomes"] == {"dispatched": 1}
            other = notification(alert(model="price", namespace="retail"), group="price")
            assert webhook.notify(other).json()["outcomes"] == {"dispatched": 1}
            wait(lambda: len(github.delivered()) == 2, 120, "both dispatches, the trickled one retried")
            assert github.trickles_finished == 0  # cut long before its last byte
            wait(lambda: github.trickles_cut == 1, 120, "the trickling answer to see the client hang up")
        finally:
            webhook.stop()
        models = sorted(call.body["client_payload"]["model"] for call in github.delivered())
        assert models == ["churn-model", "price"]
    assert "timed out" in (tmp_path / "webhook.log").read_text()
