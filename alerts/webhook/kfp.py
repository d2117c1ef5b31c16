"""Kubeflow Pipelines as a retraining target: one run per incident, through the KFP v2beta1 REST API.

These are the calls the ``kfp`` 2.x client makes (find the experiment by name or create it, then ``POST
/apis/v2beta1/runs``), made here with explicit timeouts: the client has none, and retries its health check for ~25 s
inside its constructor, which would stall the webhook's delivery worker for every target. Runs are named from
``kfp.run_name`` (by default with the dispatch id), and a retried attempt first looks for a run of that name, so a
run whose creation answer was lost is not started twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from . import deadline
from .config import KfpConfig, RetryConfig
from .github import Outcome, backoff

API = "/apis/v2beta1"


class PipelinePackageError(ValueError):
    """``kfp.pipeline_package`` cannot be used; the message says why."""


def render(template: str, fields: dict[str, str]) -> str:
    return template.format(**fields)


def template_fields(payload: dict[str, Any]) -> dict[str, str]:
    """The incident as strings for ``kfp.arguments`` and ``kfp.run_name`` templates."""
    return {
        "model": payload["model"],
        "namespace": payload["namespace"],
        "model_version": payload["model_version"],
        "dispatch_id": payload["dispatch_id"],
        "alerts": ",".join(payload["alerts"]),
        "drifted_features": json.dumps(payload["drifted_features"], sort_keys=True),
        "starts_at": payload["starts_at"],
        "dashboard_url": payload["links"]["dashboard"],
        "alertmanager_url": payload["links"]["alertmanager"],
        "group_key": payload["group_key"],
        "reference_source": payload["reference"]["source"],
        "registry_version": payload["reference"]["registry_version"],
        "registered": payload["reference"]["registered"],
        "profile_version": payload["reference"]["profile_version"],
    }


def run_request(config: KfpConfig, payload: dict[str, Any]) -> dict[str, Any]:
    """What the outbox row keeps for a KFP run: its name and its arguments, rendered once, at acceptance."""
    fields = template_fields(payload)
    return {
        "run_name": render(config.run_name, fields)[:128],
        "arguments": {name: render(template, fields) for name, template in config.arguments},
    }


def load_package(path: str) -> dict[str, Any]:
    """A compiled pipeline (``kfp`` compiler output): the pipeline spec, with the platform spec when present."""
    try:
        documents = [d for d in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")) if d is not None]
    except OSError as exc:
        raise PipelinePackageError(f"{path}: cannot read the pipeline package: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise PipelinePackageError(f"{path}: the pipeline package is not YAML: {str(exc).splitlines()[0]}") from None
    if not documents or not isinstance(documents[0], dict) or "pipelineInfo" not in documents[0]:
        raise PipelinePackageError(f"{path}: not a compiled KFP pipeline (no pipelineInfo); compile it with kfp 2.x")
    if len(documents) > 1:
        return {"pipeline_spec": documents[0], "platform_spec": documents[1]}
    return documents[0]


class KfpTarget:
    def __init__(self, config: KfpConfig, retry: RetryConfig) -> None:
        self.config = config
        self.retry = retry
        self.spec = load_package(config.pipeline_package) if config.pipeline_package else None

    def _call(self, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json", "User-Agent": "driftline-webhook"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = self.config.host.rstrip("/") + API + path
        return deadline.request(method, url, self.config.timeout.seconds, headers=headers, **kwargs)

    def _by_name(self, key: str, name: str) -> str:
        return json.dumps({"predicates": [{"operation": "EQUALS", "key": key, "string_value": name}]})

    def _experiment_id(self, token: str | None) -> str | requests.Response:
        params = {"filter": self._by_name("display_name", self.config.experiment)}
        if self.config.namespace:
            params["namespace"] = self.config.namespace
        found = self._call("GET", "/experiments", token, params=params)
        if found.status_code != 200:
            return found
        experiments = found.json().get("experiments") or []
        if experiments:
            return str(experiments[0]["experiment_id"])
        body = {"display_name": self.config.experiment, "description": "Retraining runs started by driftline"}
        if self.config.namespace:
            body["namespace"] = self.config.namespace
        created = self._call("POST", "/experiments", token, json=body)
        if created.status_code != 200:
            return created
        return str(created.json()["experiment_id"])

    def start(self, request: dict[str, Any], token: str | None, attempt: int, now: float) -> Outcome:
        """One attempt to start the run; network errors propagate (the caller retries them)."""
        experiment = self._experiment_id(token)
        if isinstance(experiment, requests.Response):
            return self._classify(experiment, attempt, now)
        if attempt > 1:
            existing = self._call(
                "GET",
                "/runs",
                token,
                params={"experiment_id": experiment, "filter": self._by_name("display_name", request["run_name"])},
            )
            if existing.status_code == 200 and existing.json().get("runs"):
                return Outcome("delivered")  # an earlier attempt started it; its answer was lost
        body: dict[str, Any] = {
            "experiment_id": experiment,
            "display_name": request["run_name"],
            "runtime_config": {"parameters": request["arguments"]},
        }
        if self.spec is not None:
            body["pipeline_spec"] = self.spec
        else:
            reference = {"pipeline_id": self.config.pipeline_id}
            if self.config.version_id:
                reference["pipeline_version_id"] = self.config.version_id
            body["pipeline_version_reference"] = reference
        return self._classify(self._call("POST", "/runs", token, json=body), attempt, now)

    def _classify(self, response: requests.Response, attempt: int, now: float) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            return Outcome("delivered")
        try:
            document = response.json()
            message = str(document.get("message") or document.get("error") or document)[:300]
        except ValueError:
            message = response.text[:300]
        error = f"Kubeflow Pipelines answered {status}: {message}"
        if status == 429:
            after = response.headers.get("retry-after", "")
            wait = float(after) if after.replace(".", "", 1).isdigit() else max(60.0, backoff(attempt, self.retry))
            return Outcome("rate_limited", error, wait)
        if status >= 500:
            return Outcome("retry", error, backoff(attempt, self.retry))
        return Outcome("failed", error)
