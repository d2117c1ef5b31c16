"""The retraining webhook's state: deciding on notifications (request path) and delivering the outbox (one worker).

Request path: authenticate (constant-time), parse, and for every firing ``action="retrain"`` alert commit a
decision to the outbox — ``dispatched``, ``duplicate`` or ``cooldown`` — before answering. Everything else is
acknowledged and counted. The worker thread delivers due outbox rows to GitHub, one at a time, and writes each
attempt's outcome back to the row.
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests
from prometheus_client import CollectorRegistry

from alerts.loader import unsafe_settings
from alerts.webhook.secrets import CachedSecret, SecretError
from drift.errors import DriftlineError
from httpserver.exposition import counter, histogram, with_known_labels

from ..config import DeploymentConfig
from . import github, metrics
from .config import WebhookConfig
from .kfp import KfpTarget, PipelinePackageError, run_request
from .notifications import InvalidNotification, Notification, parse_notification, wants_retraining
from .outbox import Dispatch, Outbox

log = logging.getLogger("driftline.webhook")
TARGET_GITHUB = "github"
TARGET_KFP = "kfp"


class WebhookInstruments:
    """Notification outcomes, delivery attempts and dispatch latency (prometheus-client, from the catalogue)."""

    def __init__(self, registry: CollectorRegistry, targets: list[str]) -> None:
        self.notifications = counter(metrics.RETRAIN_NOTIFICATIONS, registry)
        self.attempts = counter(metrics.RETRAIN_ATTEMPTS, registry)
        self.latency = histogram(metrics.RETRAIN_LATENCY, registry)
        with_known_labels(self.notifications, metrics.RETRAIN_NOTIFICATIONS)
        with_known_labels(self.attempts, metrics.RETRAIN_ATTEMPTS, [(target,) for target in targets])
        self.outbox_errors = counter(metrics.OUTBOX_ERRORS, registry)


class WebhookService:
    def __init__(self, config: DeploymentConfig) -> None:
        if config.webhook is None:
            raise ValueError("the config has no webhook section")
        self.config = config
        self.settings: WebhookConfig = config.webhook
        region = config.s3.region
        self.token = CachedSecret(self.settings.token, region)
        github_config, kfp_config = self.settings.github, self.settings.kfp
        self.github_token = CachedSecret(github_config.token, region) if github_config else None
        self.kfp_token = CachedSecret(kfp_config.token, region) if kfp_config and kfp_config.token else None
        self.kfp: KfpTarget | None = None
        self.targets = ([TARGET_GITHUB] if github_config else []) + ([TARGET_KFP] if kfp_config else [])
        self.outbox: Outbox | None = None
        self._models = {(model.name, model.namespace) for model in config.models}
        self.registry = CollectorRegistry(auto_describe=False)
        self.instruments = WebhookInstruments(self.registry, self.targets)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._unrecorded: tuple[Dispatch, github.Outcome, float] | None = None  # an outcome the outbox refused
        self.outbox_error: str | None = None  # the outbox's current failure, shown on /healthz
        self.outbox_error_since = 0.0

    def prepare(self) -> None:
        """Resolve every secret and read the pipeline package now: a problem is a one-line error at start, not a
        failed retraining at 3 a.m."""
        for secret in (self.token, self.github_token, self.kfp_token):
            if secret is not None:
                secret.get()
        if self.settings.kfp is not None:
            try:
                self.kfp = KfpTarget(self.settings.kfp, self.settings.retry)
            except PipelinePackageError as exc:
                raise DriftlineError(f"webhook.kfp.pipeline_package: {exc}") from None
        self._open_outbox()
        # only once everything is ready: a failed start stays the one line naming what failed
        for warning in unsafe_settings(self.config):
            log.warning("unsafe setting", extra={"warning": warning})

    def _open_outbox(self) -> None:
        """Open (or create) the outbox and put back rows a dead process left in flight; a folder that cannot be
        written or a full disk is a one-line error naming ``webhook.state``."""
        if self.outbox is not None:
            return
        folder = Path(self.settings.state).parent
        if not folder.is_dir():  # never a folder made behind the user's back (/var/lib/driftline on a laptop)
            what = "is not a folder" if folder.exists() else "does not exist"
            raise DriftlineError(
                f"webhook.state: {folder} {what}; create the folder (in Kubernetes: mount a volume there) or point "
                "webhook.state at a file in an existing folder"
            )
        created = not Path(self.settings.state).exists()
        try:
            self.outbox = Outbox(self.settings.state)
            recovered = self.outbox.recover()
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise DriftlineError(f"webhook.state: cannot open the outbox {self.settings.state}: {reason}") from None
        if created:
            log.info("webhook outbox created", extra={"path": self.settings.state})
        if recovered:
            log.warning(
                "dispatches were in flight when the webhook last stopped; sending them again",
                extra={"dispatches": recovered},
            )

    def start(self) -> None:
        if self.settings.kfp is not None and self.kfp is None:
            self.prepare()
        self._open_outbox()
        self._worker = threading.Thread(target=self._work, name="dispatch-worker", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            timeouts = [t.timeout.seconds for t in (self.settings.github, self.settings.kfp) if t is not None]
            self._worker.join(timeout=3 * max(timeouts) + 5)  # the KFP target makes up to three calls
        if self.outbox is not None:
            self.outbox.close()

    # --- request path ---

    def count(self, outcome: str, n: int = 1) -> None:
        """One more alert or request with this outcome (``driftline_retrain_notifications_total``)."""
        self.instruments.notifications.labels(outcome).inc(n)

    def authorized(self, header: str | None) -> bool:
        scheme, _, presented = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        try:
            expected = self.token.get()
        except SecretError:
            log.error("the webhook token cannot be resolved", extra={"token": str(self.settings.token)})
            return False
        return hmac.compare_digest(presented.strip().encode(), expected.encode())

    def handle(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """An authenticated request's body: 400 with a reason, 200 with the committed outcome of every alert, or 503
        while the outbox cannot be written (Alertmanager sends the notification again: nothing is lost)."""
        try:
            notification = parse_notification(body)
        except InvalidNotification as exc:
            self.count("invalid")
            return 400, {"error": str(exc), "reason": exc.reason}
        try:
            outcomes = self.decide(notification)
        except sqlite3.Error as exc:
            self._outbox_failed(exc)
            message = "the outbox cannot be written; Alertmanager will send the notification again"
            return 503, {"error": message, "reason": "outbox_unavailable"}
        if outcomes.get("dispatched"):
            self._outbox_ok()  # a row was written
        return 200, {"status": "ok", "outcomes": outcomes}

    def health(self) -> tuple[int, dict[str, Any]]:
        """503 when the delivery worker has stopped; ``degraded`` while the outbox cannot be written."""
        if self._worker is not None and not self._worker.is_alive() and not self._stop.is_set():
            return 503, {"status": "worker_stopped"}
        if self.outbox_error is not None:
            return 200, {"status": "degraded", "outbox_error": self.outbox_error, "since": self.outbox_error_since}
        return 200, {"status": "ok"}

    def decide(self, notification: Notification) -> dict[str, int]:
        assert self.outbox is not None
        outcomes: dict[str, int] = defaultdict(int)
        for alert in notification.alerts:
            if alert.status != "firing":
                outcome = "resolved_ignored"
            elif not wants_retraining(alert):
                outcome = "not_retrain"
            elif alert.model is None:
                log.error(
                    "a retrain alert without a model label cannot start a retraining",
                    extra={"alertname": alert.labels.get("alertname"), "fingerprint": alert.fingerprint},
                )
                outcome = "invalid"
            elif not self.monitors(alert.model):
                outcome = "unknown_model"
            else:
                outcome = self._accept(notification, alert.model, alert)
            outcomes[outcome] += 1
            self.count(outcome)
        if outcomes.get("unknown_model"):
            # one line per notification, however many alerts it carries: a flood must not flood the log
            unknown = sorted(
                {f"{a.model[1]}/{a.model[0]}" for a in notification.alerts if a.model and not self.monitors(a.model)}
            )
            log.warning(
                "retrain alerts for models the config does not name start nothing",
                extra={"alerts": outcomes["unknown_model"], "models": unknown[:10]},
            )
        if outcomes.get("dispatched"):
            self._wake.set()
        return dict(outcomes)

    def monitors(self, model: tuple[str, str]) -> bool:
        """Whether the config names this model (a model configured in namespace ``*`` matches every namespace);
        only those can start a retraining."""
        return model in self._models or (model[0], "*") in self._models

    def _accept(self, notification: Notification, model: tuple[str, str], alert: Any) -> str:
        """Commit one row per target; the alert's outcome is ``dispatched`` if any target takes it."""
        assert self.outbox is not None
        outcomes = []
        for target in self.targets:
            dispatch_id = str(uuid.uuid4())
            payload = github.client_payload(dispatch_id, model, [alert], notification)
            if target == TARGET_GITHUB:
                assert self.settings.github is not None
                request: dict[str, Any] = {
                    "repository": self.settings.github.repository_for(model[0]),
                    "body": github.dispatch_body(self.settings.github.event_type, payload),
                }
            else:
                assert self.settings.kfp is not None
                request = run_request(self.settings.kfp, {**payload, "group_key": notification.group_key})
            outcome = self.outbox.accept(
                dispatch_id=dispatch_id,
                dedupe_key=f"{target}:{alert.dedupe_key(notification.group_key)}",
                model=model[0],
                namespace=model[1],
                target=target,
                request=request,
                cooldown=self.settings.cooldown.seconds,
            )
            fields = {"model": model[0], "model_namespace": model[1], "target": target, "outcome": outcome}
            if outcome == "dispatched":
                log.info("retraining accepted", extra={**fields, "dispatch_id": dispatch_id})
            else:
                log.info("retraining not repeated", extra=fields)
            outcomes.append(outcome)
        for outcome in ("dispatched", "cooldown"):
            if outcome in outcomes:
                return outcome
        return "duplicate"

    # --- delivery (worker thread) ---

    def _work(self) -> None:
        """Deliver due rows until stopped. Nothing the outbox raises (a full disk, a locked file) ends this loop: the
        error is counted, shown on /healthz, and the step is tried again a second later. An outcome that could not be
        written is kept and written before anything else is claimed, so a delivered dispatch is never sent again."""
        assert self.outbox is not None
        while not self._stop.is_set():
            try:
                if self._unrecorded is not None:
                    self._record(*self._unrecorded)
                    self._unrecorded = None
                    self._outbox_ok()
                dispatch = self.outbox.claim()
                if dispatch is None:
                    due = self.outbox.next_due()
                    self._wake.wait(1.0 if due is None else max(0.0, min(1.0, due - time.time())))
                    self._wake.clear()
                    continue
                self._deliver(dispatch)
                self._outbox_ok()
            except Exception as exc:
                self._outbox_failed(exc)
                self._stop.wait(1.0)

    def _outbox_failed(self, exc: Exception) -> None:
        self.instruments.outbox_errors.inc()
        if self.outbox_error is None:  # one log line per outage, not one a second
            self.outbox_error, self.outbox_error_since = f"{exc.__class__.__name__}: {exc}", time.time()
            log.error(
                "the outbox cannot be written; delivery waits and retries every second",
                extra={"error": self.outbox_error, "state": self.settings.state},
            )

    def _outbox_ok(self) -> None:
        if self.outbox_error is not None:
            log.info("the outbox is writable again", extra={"down_for_s": round(time.time() - self.outbox_error_since)})
            self.outbox_error = None

    def _deliver(self, dispatch: Dispatch) -> None:
        retry = self.settings.retry
        where = "GitHub" if dispatch.target == TARGET_GITHUB else "Kubeflow Pipelines"
        try:
            outcome = self._attempt(dispatch)
        except SecretError as exc:
            outcome = github.Outcome("retry", str(exc), github.backoff(dispatch.attempts, retry))
        except requests.RequestException as exc:
            reason = "timed out" if isinstance(exc, requests.Timeout) else f"failed ({exc.__class__.__name__})"
            error = f"the request to {where} {reason}"
            outcome = github.Outcome("retry", error, github.backoff(dispatch.attempts, retry))
        except (ValueError, KeyError) as exc:  # an answer that is not the JSON the API documents
            error = f"{where} answered unexpectedly: {exc!r}"
            outcome = github.Outcome("retry", error, github.backoff(dispatch.attempts, retry))
        self.instruments.attempts.labels(dispatch.target, outcome.result).inc()
        self._unrecorded = (dispatch, outcome, time.time())
        self._record(*self._unrecorded)
        self._unrecorded = None

    def _record(self, dispatch: Dispatch, outcome: github.Outcome, now: float) -> None:
        """Write one attempt's outcome to the outbox; raises when the outbox cannot be written (the caller keeps it)."""
        assert self.outbox is not None
        retry = self.settings.retry
        fields = {
            "model": dispatch.model,
            "model_namespace": dispatch.namespace,
            "target": dispatch.target,
            "dispatch_id": dispatch.dispatch_id,
        }
        if outcome.result == "delivered":
            self.outbox.delivered(dispatch)
            self.instruments.latency.observe(now - dispatch.created_at)
            log.info("retraining started", extra={**fields, "attempts": dispatch.attempts})
        elif outcome.result == "failed" or now + outcome.wait - dispatch.created_at > retry.give_up_after.seconds:
            error = (
                outcome.error if outcome.result == "failed" else f"gave up after {retry.give_up_after}: {outcome.error}"
            )
            self.outbox.failed(dispatch, error)
            self.count("failed")
            log.error("retraining could not be started", extra={**fields, "error": error})
        else:
            self.outbox.retry(dispatch, now + outcome.wait, outcome.error)
            log.warning(
                "retraining start will be retried",
                extra={**fields, "error": outcome.error, "retry_in_seconds": round(outcome.wait, 3)},
            )

    def _attempt(self, dispatch: Dispatch) -> github.Outcome:
        if dispatch.target == TARGET_GITHUB:
            assert self.settings.github is not None and self.github_token is not None
            request = dispatch.request
            response = github.send(
                self.settings.github, self.github_token.get(), request["repository"], request["body"]
            )
            return github.classify(response, dispatch.attempts, self.settings.retry, time.time())
        assert self.kfp is not None
        token = self.kfp_token.get() if self.kfp_token is not None else None
        return self.kfp.start(dispatch.request, token, dispatch.attempts, time.time())
