"""`driftline webhook` as a real subprocess against a fake GitHub API (a real HTTP server on loopback that answers
from a script: 204, 403 + retry-after, 429, 500, 422, or hangs). Alertmanager's notifications are sent exactly as
Alertmanager 0.25 sends them (payload version 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.support import (
    ENV,
    GITHUB_TOKEN,
    HANG_TIMEOUT,
    REPO,
    TOKEN,
    Answer,
    FakeGitHub,
    WebhookProcess,
    alert,
    free_port,
    notification,
    run_cli,
    wait,
    webhook_config,
)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def webhook(tmp_path: Path, github: FakeGitHub) -> Iterator[WebhookProcess]:
    process = WebhookProcess(webhook_config(tmp_path, github.url), tmp_path / "webhook.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def settle(github: FakeGitHub, seconds: float = 1.5) -> None:
    """Give a wrongly-queued dispatch the time to go out (retry backoff is ≤ 0.5 s in these tests)."""
    time.sleep(seconds)


def test_one_firing_retrain_alert_is_one_dispatch(webhook: WebhookProcess, github: FakeGitHub) -> None:
    answer = webhook.notify(notification(alert()))
    assert answer.status_code == 200 and answer.json()["outcomes"] == {"dispatched": 1}
    wait(github.delivered, 120, "the dispatch")
    settle(github)
    (call,) = github.calls
    assert call.path == "/repos/my-org/churn-model/dispatches"
    assert call.headers["Accept"] == "application/vnd.github+json"
    assert call.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert call.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert call.body["event_type"] == "drift-detected"
    payload = call.body["client_payload"]
    assert len(payload) <= 10 and len(json.dumps(call.body)) < 64 * 1024
    assert payload["model"] == "churn-model" and payload["namespace"] == "default"
    assert payload["alerts"] == ["DriftlineDatasetDrift"]
    assert payload["drifted_features"] == {"monthly_charges": 0.34, "contract": 0.21}
    assert payload["starts_at"] == "2026-11-27T07:00:00Z" and payload["model_version"] == ""
    assert payload["links"]["alertmanager"] == "http://alertmanager:9093"
    assert payload["links"]["dashboard"].startswith("https://grafana.example.org/d/driftline-model-drift")
    # the reference the drift was judged against: the registry version that drifted, for the retraining to record
    assert payload["reference"] == {
        "source": "models:/churn-model@champion",
        "registry_version": "3",
        "registered": "models:/churn-model/3",
        "profile_version": "5f2c0a9e41d7b3c8",
    }
    assert len(payload["dispatch_id"]) == 36
    wait(lambda: webhook.outcome("dispatched") == 1, 120, "the dispatched counter")
    metrics = webhook.metrics()
    assert metrics['driftline_retrain_outbox_dispatches{"state": "delivered"}'] == 1
    assert metrics['driftline_retrain_dispatch_attempts_total{"result": "delivered", "target": "github"}'] == 1
    assert metrics["driftline_retrain_dispatch_latency_seconds_count"] == 1


def test_repeats_resolves_other_alerts_two_models_and_the_cooldown(webhook: WebhookProcess, github: FakeGitHub) -> None:
    churn = notification(alert())
    for _ in range(5):  # Alertmanager re-sends the group every group_interval / repeat_interval
        assert webhook.notify(churn).status_code == 200
    assert webhook.notify(churn).json()["outcomes"] == {"duplicate": 1}
    resolved = notification(alert(status="resolved"))
    assert webhook.notify(resolved).json()["outcomes"] == {"resolved_ignored": 1}
    warning = notification(alert(alertname="DriftlineFeatureDrift", action=None))
    assert webhook.notify(warning).json()["outcomes"] == {"not_retrain": 1}
    # two models drifting at once, in one notification and in separate ones
    both = notification(
        alert(model="fraud-scorer", namespace="risk"), alert(model="price", namespace="retail"), group="multi"
    )
    assert webhook.notify(both).json()["outcomes"] == {"dispatched": 2}
    # the alert resolves and fires again within the cooldown: a new incident, but not a new retraining
    refired = notification(alert(starts_at="2026-11-27T07:45:00Z"))
    assert webhook.notify(refired).json()["outcomes"] == {"cooldown": 1}
    wait(lambda: len(github.delivered()) == 3, 120, "three dispatches")
    settle(github)
    assert len(github.calls) == 3
    assert sorted(c.path for c in github.calls) == [
        "/repos/my-org/churn-model/dispatches",
        "/repos/my-org/churn-model/dispatches",  # price has no repository of its own: the default one
        "/repos/my-org/fraud/dispatches",
    ]
    assert sorted(c.body["client_payload"]["model"] for c in github.calls) == ["churn-model", "fraud-scorer", "price"]
    assert webhook.outcome("dispatched") == 3
    assert webhook.outcome("duplicate") == 5
    assert webhook.outcome("cooldown") == 1
    assert webhook.outcome("resolved_ignored") == 1
    assert webhook.outcome("not_retrain") == 1


def test_github_down_then_back(webhook: WebhookProcess, github: FakeGitHub) -> None:
    github.answer(Answer(500), Answer(502), Answer(503), Answer(500))
    assert webhook.notify(notification(alert())).status_code == 200
    wait(github.delivered, 120, "the dispatch after GitHub recovers")
    settle(github)
    assert [c.status for c in github.calls] == [500, 502, 503, 500, 204]
    assert len(github.delivered()) == 1
    gaps = [b.at - a.at for a, b in zip(github.calls, github.calls[1:], strict=False)]
    assert all(gap >= 0.05 for gap in gaps), f"retries must back off: {gaps}"


def test_rate_limits_are_waited_out_as_told(webhook: WebhookProcess, github: FakeGitHub) -> None:
    github.answer(
        Answer(403, {"retry-after": "2"}, b'{"message": "You have exceeded a secondary rate limit."}'),
        Answer(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 4)}),
    )
    assert webhook.notify(notification(alert())).status_code == 200
    wait(github.delivered, 120, "the dispatch after the rate limits")
    first, second, third = github.calls
    assert second.at - first.at >= 2.0, "retry-after: 2 was not honoured"
    assert third.at >= int(first.at) + 4 - 1.0, "x-ratelimit-reset was not honoured"  # reset has 1 s resolution
    assert len(github.delivered()) == 1


def test_a_final_client_error_is_not_retried(webhook: WebhookProcess, github: FakeGitHub, tmp_path: Path) -> None:
    github.answer(Answer(422, {"content-type": "application/json"}, b'{"message": "Invalid request: event_type"}'))
    assert webhook.notify(notification(alert())).status_code == 200
    wait(lambda: webhook.outcome("failed") == 1, 120, "the failed outcome")
    settle(github)
    assert len(github.calls) == 1 and not github.delivered()
    log = (tmp_path / "webhook.log").read_text()
    assert "Invalid request: event_type" in log and GITHUB_TOKEN not in log


def test_a_hanging_github_times_out_and_is_retried(webhook: WebhookProcess, github: FakeGitHub) -> None:
    github.answer(Answer(504, hang=2.5))  # longer than webhook.github.timeout (1 s)
    assert webhook.notify(notification(alert())).status_code == 200
    wait(github.delivered, 120, "the dispatch after the timeout")
    assert len(github.delivered()) == 1


def test_killed_between_accepting_and_dispatching(tmp_path: Path, github: FakeGitHub) -> None:
    """The decision is on disk before Alertmanager hears 200: a SIGKILL loses nothing and sends nothing twice."""
    config = webhook_config(tmp_path, github.url)
    github.default = Answer(500)  # GitHub is down: the dispatch stays in the outbox
    first = WebhookProcess(config, tmp_path / "webhook.log")
    try:
        first.wait_ready()
        assert first.notify(notification(alert())).status_code == 200
        wait(lambda: github.calls, 120, "a first delivery attempt")
        first.kill()
    finally:
        first.stop()
    attempts = len(github.calls)
    github.default = Answer(204)
    second = WebhookProcess(config, tmp_path / "webhook.log")
    try:
        second.wait_ready()
        # Alertmanager did get its 200; its next repeat is a duplicate, not a second retraining
        assert second.notify(notification(alert())).json()["outcomes"] == {"duplicate": 1}
        wait(github.delivered, 120, "the dispatch after the restart")
        settle(github)
        assert len(github.delivered()) == 1
        assert len(github.calls) == attempts + 1
    finally:
        second.stop()


def test_killed_while_the_request_is_in_flight(tmp_path: Path, github: FakeGitHub) -> None:
    """SIGKILL while GitHub has not answered yet: the row is left in `sending`; the restart sends it again.
    (Here GitHub's answer to the lost request is an error, so exactly one dispatch happens. Had GitHub taken the lost
    request, this would be the one case of a second dispatch — with the same dispatch_id; see the README.)"""
    config = webhook_config(tmp_path, github.url)
    github.answer(Answer(502, hang=4.0))
    first = WebhookProcess(config, tmp_path / "webhook.log")
    try:
        first.wait_ready()
        assert first.notify(notification(alert())).status_code == 200
        sending = 'driftline_retrain_outbox_dispatches{"state": "sending"}'
        wait(lambda: first.metrics()[sending] == 1, 120, "the dispatch to be in flight")
        first.kill()
    finally:
        first.stop()
    second = WebhookProcess(config, tmp_path / "webhook.log")
    try:
        second.wait_ready()
        wait(github.delivered, 120, "the dispatch after the restart")
        settle(github, 4.0)  # the lost request's late 502 arrives too; nothing else may
        assert len(github.delivered()) == 1
        assert [c.status for c in sorted(github.calls, key=lambda c: c.status)] == [204, 502]
        assert "sending them again" in (tmp_path / "webhook.log").read_text()
    finally:
        second.stop()


def test_killed_before_the_first_attempt(tmp_path: Path) -> None:
    """GitHub unreachable when the decision is taken (nothing listens), the process dies; the restart delivers."""
    dead = f"http://127.0.0.1:{free_port()}"
    config = webhook_config(tmp_path, dead)
    first = WebhookProcess(config, tmp_path / "webhook.log")
    try:
        first.wait_ready()
        assert first.notify(notification(alert())).status_code == 200
        first.kill()
    finally:
        first.stop()
    with FakeGitHub() as github:
        data = yaml.safe_load(config.read_text())
        data["webhook"]["github"]["api_url"] = github.url
        config.write_text(yaml.safe_dump(data))
        second = WebhookProcess(config, tmp_path / "webhook.log")
        try:
            second.wait_ready()
            wait(github.delivered, 120, "the dispatch after the restart")
            settle(github)
            assert len(github.calls) == 1
        finally:
            second.stop()


def test_metrics_pass_promtool(webhook: WebhookProcess) -> None:
    exposition = requests.get(webhook.url + "/metrics", timeout=5).text
    check = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "driftline_retrain_notifications_total" in exposition


def test_token_from_secrets_manager(tmp_path: Path, github: FakeGitHub, s3_endpoint: str) -> None:
    """secretsmanager: references resolve through boto3 (here a moto server, the same HTTP API as AWS)."""
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_secret(Name="driftline/webhook-token", SecretString="sm-token-77")
    config = webhook_config(tmp_path, github.url, token="secretsmanager:driftline/webhook-token")
    process = WebhookProcess(config, tmp_path / "webhook.log", env={"AWS_ENDPOINT_URL_SECRETS_MANAGER": s3_endpoint})
    try:
        process.wait_ready()
        assert process.notify(notification(alert()), token="sm-token-77").status_code == 200
        assert process.notify(notification(alert()), token=TOKEN).status_code == 401
        wait(github.delivered, 120, "the dispatch")
    finally:
        process.stop()


def test_startup_errors_are_one_line(tmp_path: Path) -> None:
    config = webhook_config(tmp_path, "http://127.0.0.1:9")
    missing = run_cli("webhook", "--config", str(config), env={"DRIFTLINE_WEBHOOK_TOKEN": ""})
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "DRIFTLINE_WEBHOOK_TOKEN" in missing.stderr
    no_section = tmp_path / "plain.yaml"
    data = yaml.safe_load(config.read_text())
    del data["webhook"]
    no_section.write_text(yaml.safe_dump(data))
    absent = run_cli("webhook", "--config", str(no_section))
    assert absent.returncode == 1 and "no webhook" in absent.stderr and absent.stderr.count("\n") == 1


def test_the_example_workflow_is_a_valid_github_workflow() -> None:
    workflow = REPO / "deploy" / "github" / "retrain.yml"
    check = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    document = yaml.safe_load(workflow.read_text())
    trigger = document[True] if True in document else document["on"]  # YAML 1.1 reads `on:` as true
    assert trigger["repository_dispatch"]["types"] == ["drift-detected"]
    assert "client_payload.model" in document["concurrency"]["group"]
    steps = [s for job in document["jobs"].values() for s in job.get("steps", [])]
    for step in steps:
        assert "${{ github.event.client_payload" not in step.get("run", ""), "payload must reach scripts via env:"
    assert any("environment" in job for job in document["jobs"].values())


# --- the Kubeflow Pipelines target ---

PIPELINE = REPO / "tests" / "fixtures" / "kfp" / "retrain-pipeline.yaml"  # compiled by kfp 2.17.3


def kfp_settings(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "host": url,
        "experiment": "drift-retraining",
        "pipeline_package": str(PIPELINE),
        "arguments": {
            "model_name": "{model}",
            "model_namespace": "{namespace}",
            "drifted_features": "{drifted_features}",
        },
        "token": "env:KFP_TOKEN",
        "timeout": "1s",
        **overrides,
    }


def test_kfp_and_github_each_start_one_retraining(tmp_path: Path, github: FakeGitHub) -> None:
    from tests.support import FakeKubeflowPipelines

    with FakeKubeflowPipelines() as kfp:
        config = webhook_config(tmp_path, github.url, kfp=kfp_settings(kfp.url))
        process = WebhookProcess(config, tmp_path / "webhook.log", env={"KFP_TOKEN": "kfp-token-1"})
        try:
            process.wait_ready()
            for _ in range(3):
                assert process.notify(notification(alert())).status_code == 200
            wait(lambda: kfp.runs and github.delivered(), 120, "a KFP run and a dispatch")
            settle(github)
            assert len(github.delivered()) == 1
            (run,) = kfp.runs
            assert run["runtime_config"]["parameters"] == {
                "model_name": "churn-model",
                "model_namespace": "default",
                "drifted_features": '{"contract": 0.21, "monthly_charges": 0.34}',
            }
            assert run["display_name"].startswith("driftline-churn-model-")
            assert run["pipeline_spec"]["pipelineInfo"]["name"] == "churn-retraining"
            (experiment,) = kfp.experiments.values()
            assert experiment["display_name"] == "drift-retraining"
            assert run["experiment_id"] == "exp-1"
            assert all(headers["Authorization"] == "Bearer kfp-token-1" for _, _, headers in kfp.requests)
            assert process.outcome("dispatched") == 1 and process.outcome("duplicate") == 2
        finally:
            process.stop()


def test_kfp_retries_and_never_starts_a_run_twice(tmp_path: Path) -> None:
    """A 503 is retried; a run whose answer was lost is found by name on the next attempt, not started again."""
    from tests.support import FakeKubeflowPipelines

    with FakeKubeflowPipelines() as kfp:
        kfp.run_script = [Answer(503, body=b'{"error": "unavailable", "message": "try later"}'), "lose"]
        data = yaml.safe_load(webhook_config(tmp_path, "http://127.0.0.1:9").read_text())
        del data["webhook"]["github"]
        data["webhook"]["kfp"] = kfp_settings(kfp.url, token=None)
        config = tmp_path / "kfp-only.yaml"
        config.write_text(yaml.safe_dump(data))
        process = WebhookProcess(config, tmp_path / "webhook.log")
        try:
            process.wait_ready()
            assert process.notify(notification(alert())).json()["outcomes"] == {"dispatched": 1}
            metric = 'driftline_retrain_dispatch_attempts_total{"result": "delivered", "target": "kfp"}'
            wait(lambda: process.metrics().get(metric) == 1, 120, "the run to be confirmed")
            assert len(kfp.runs) == 1
            log = (tmp_path / "webhook.log").read_text()
            assert "Kubeflow Pipelines answered 503: try later" in log
            assert "the request to Kubeflow Pipelines timed out" in log
        finally:
            process.stop()


def test_kfp_refusing_the_run_is_final(tmp_path: Path, github: FakeGitHub) -> None:
    from tests.support import FakeKubeflowPipelines

    with FakeKubeflowPipelines() as kfp:
        kfp.run_script = [Answer(400, body=b'{"error": "bad", "message": "Invalid input: unknown parameter"}')]
        config = webhook_config(tmp_path, github.url, kfp=kfp_settings(kfp.url, token=None))
        process = WebhookProcess(config, tmp_path / "webhook.log")
        try:
            process.wait_ready()
            process.notify(notification(alert()))
            wait(lambda: process.outcome("failed") == 1, 120, "the failed KFP run")
            wait(github.delivered, 120, "the GitHub dispatch, unaffected")
            assert kfp.runs == []
            assert "Invalid input: unknown parameter" in (tmp_path / "webhook.log").read_text()
        finally:
            process.stop()


def test_kfp_config_problems_are_clear(tmp_path: Path) -> None:
    base = yaml.safe_load(webhook_config(tmp_path, "http://127.0.0.1:9").read_text())

    def check(kfp: dict[str, Any]) -> str:
        data = json.loads(json.dumps(base))
        data["webhook"]["kfp"] = kfp
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        result = run_cli("check-config", "--config", str(path))
        assert result.returncode == 1
        return result.stderr

    both = check(kfp_settings("http://kfp", pipeline_id="abc"))
    assert "webhook.kfp: needs exactly one of pipeline_package" in both
    unknown = check(kfp_settings("http://kfp", arguments={"x": "{modle}"}))
    assert "webhook.kfp.arguments.x:" in unknown and "{modle}" in unknown and "{model}" in unknown
    data = json.loads(json.dumps(base))
    data["webhook"]["kfp"] = kfp_settings("http://127.0.0.1:9", pipeline_package=str(tmp_path / "missing.yaml"))
    path = tmp_path / "missing-package.yaml"
    path.write_text(yaml.safe_dump(data))
    started = run_cli("webhook", "--config", str(path), env={**ENV, "KFP_TOKEN": "t"})
    assert started.returncode == 1 and started.stderr.count("\n") == 1
    assert "webhook.kfp.pipeline_package" in started.stderr and "missing.yaml" in started.stderr
