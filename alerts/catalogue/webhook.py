"""Alerts on the retraining webhook: a drifted model whose retraining could not be started, or waits to be."""

from __future__ import annotations

from drift.config import Duration

from ..scenarios import BAD, WEBHOOK_TARGET, Scenario, ScenarioContext, Series, counter, selector
from ..settings import minutes
from ..webhook import metrics as wm
from .definition import SELF_DASHBOARD, AlertDefinition, fixed
from .text import Text

FAILED_WINDOW = "15m"


def _retraining_failed(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    window = int(Duration.parse(FAILED_WINDOW).seconds)

    def series(states: list[str]) -> Series:
        # one more failed retraining every step while BAD
        failed = counter([1.0 if s == BAD else 0.0 for s in states])
        return [(selector(wm.RETRAIN_NOTIFICATIONS.series, {**WEBHOOK_TARGET, "outcome": "failed"}), failed)]

    return ctx.scenario(
        alert,
        series=series,
        labels={**WEBHOOK_TARGET, "outcome": "failed", **alert.labels},
        values=lambda t: {"value": window // ctx.step},
        rate_based=True,
        window=window,
        has_near=False,
    )


RETRAINING_FAILED: AlertDefinition = AlertDefinition(
    name="DriftlineRetrainingFailed",
    settings_key="retraining_failed",
    for_=minutes(0),
    keep_firing_for=minutes(60),
    severity="critical",
    summary="The retraining webhook gave up starting a retraining; a drifted model is not being retrained.",
    description=fixed(
        Text(
            "The retraining webhook {instance} gave up on {value:.0f} retraining start(s) in the last "
            f"{FAILED_WINDOW}. Its log names the model and GitHub's or Kubeflow's answer; start the retraining by "
            "hand once the cause is fixed."
        )
    ),
    expr=lambda config: f'increase({wm.RETRAIN_NOTIFICATIONS.series}{{outcome="failed"}}[{FAILED_WINDOW}]) > 0',
    scenario=_retraining_failed,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** The retraining webhook gave up starting a retraining: GitHub (or Kubeflow Pipelines) refused the
request with a final error (401/404: the token lacks access to the repository; 422: a payload GitHub refuses; a 4xx
from KFP: an unknown pipeline parameter), or it kept failing for `webhook.retry.give_up_after`. A model that drifted
is not being retrained. Severity `critical`; it keeps firing for an hour after the failure.

**Check.** The webhook's log line `retraining could not be started` names the model, the target, the dispatch id
and the target's answer. The outbox (`webhook.state`, SQLite) keeps the row in state `failed` with `last_error`:
`sqlite3 webhook.sqlite "select model, target, attempts, last_error from dispatches where state = 'failed'"`.

**Act.** Fix the token's permissions (fine-grained: Contents write on the model repository; classic: `repo`) or
the payload/pipeline; then start the retraining by hand (`gh workflow run` / re-run, or a KFP run). A failed row does
not count towards the cooldown, so the next drift alert of the model starts a retraining again.
""",
)


def _retraining_stuck(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    def series(states: list[str]) -> Series:
        # one row waits for its next attempt, one is in flight (or was, when the outbox stopped taking writes)
        return [
            (
                selector(wm.OUTBOX_DISPATCHES.series, {**WEBHOOK_TARGET, "state": state}),
                [1.0 if s == BAD else 0.0 for s in states],
            )
            for state in ("pending", "sending")
        ]

    return ctx.scenario(
        alert, series=series, labels={**WEBHOOK_TARGET, **alert.labels}, values=lambda t: {"value": 2.0}, has_near=False
    )


RETRAINING_STUCK: AlertDefinition = AlertDefinition(
    name="DriftlineRetrainingStuck",
    settings_key="retraining_stuck",
    for_=minutes(60),
    keep_firing_for=None,
    severity="warning",
    summary="Retraining starts wait in the webhook's outbox: the target keeps failing or rate-limiting.",
    description=fixed(
        Text(
            "{value:.0f} retraining start(s) have been waiting in the outbox of the retraining webhook {instance}; "
            "its log says what GitHub or Kubeflow Pipelines answers."
        )
    ),
    expr=lambda config: f'sum without (state) ({wm.OUTBOX_DISPATCHES.series}{{state=~"pending|sending"}}) > 0',
    scenario=_retraining_stuck,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** Retraining starts have been waiting in the webhook's outbox (state `pending` or `sending`) for an hour:
GitHub or Kubeflow Pipelines keeps answering 5xx, rate-limiting, or is unreachable — or the outbox itself cannot be
written (a full disk: `driftline_retrain_outbox_errors_total` rises and `/healthz` says `degraded`). The webhook
keeps retrying with backoff until `webhook.retry.give_up_after`.

**Check.** The webhook's `retraining start will be retried` log lines say what the target answers and when the next
attempt is. Rate limits: another client may be exhausting the same token. Unreachable: egress NetworkPolicy, proxy,
DNS.

**Act.** Fix the connectivity or the token, or free space on the outbox's volume (`webhook.state`); waiting rows
go out on their own once the target answers and the outbox takes writes again. A delivery whose outcome could not
be written is kept in memory and written first, so it is not sent twice — unless the webhook restarts before the
disk has room again, when it is sent once more with the same `dispatch_id`.
""",
)

ALERTS = (RETRAINING_FAILED, RETRAINING_STUCK)
