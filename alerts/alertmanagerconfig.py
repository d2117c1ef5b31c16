"""The same routing as an ``AlertmanagerConfig`` custom resource (``monitoring.coreos.com/v1alpha1``), for the
Prometheus Operator: an alternative to merging ``alertmanager.yml`` into the Alertmanager config by hand.

It is translated from :func:`.alertmanager.alertmanager_config`, so routes, receivers and inhibitions are defined
once. Two things differ, as the operator requires: secrets are keys of a Kubernetes Secret in the resource's
namespace (``driftline-alertmanager``: ``slack-api-url`` and ``webhook-token``) instead of files, and the resource
only sees driftline's alerts (its top route matches ``alertname=~"Driftline.+"``). The operator nests the resource's
route under its own with ``continue: true`` and, unless the Alertmanager's ``alertmanagerConfigMatcherStrategy`` says
otherwise, adds a ``namespace`` matcher: deploy it in the Alertmanager's namespace with the strategy
``OnNamespaceExceptForAlertmanagerNamespace`` (or ``None``), as driftline's pooled alerts carry no ``namespace``.
"""

from __future__ import annotations

import re
from typing import Any

from .alertmanager import alertmanager_config
from .config import DeploymentConfig

SECRET = "driftline-alertmanager"  # noqa: S105 - the name of a Kubernetes Secret, not a secret
SLACK_URL_KEY = "slack-api-url"
WEBHOOK_TOKEN_KEY = "webhook-token"  # noqa: S105 - a key of that Secret
API_VERSION = "monitoring.coreos.com/v1alpha1"
_MATCHER = re.compile(r'^(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)(?P<op>=~|!~|!=|=)"(?P<value>(?:[^"\\]|\\.)*)"$')
_DRIFTLINE = 'alertname=~"Driftline.+"'


def alertmanager_config_resource(config: DeploymentConfig, labels: dict[str, str]) -> dict[str, Any]:
    plain = alertmanager_config(config)
    route = _route(plain["route"])
    route["matchers"] = [_matcher(_DRIFTLINE), *route.get("matchers", [])]
    return {
        "apiVersion": API_VERSION,
        "kind": "AlertmanagerConfig",
        "metadata": {"name": "driftline", "labels": {**labels, "app.kubernetes.io/component": "alerting"}},
        "spec": {
            "route": route,
            "receivers": [_receiver(r) for r in plain["receivers"]],
            "inhibitRules": [
                {
                    "sourceMatch": [_matcher(m) for m in rule["source_matchers"]],
                    "targetMatch": [_matcher(m) for m in rule["target_matchers"]],
                    "equal": rule["equal"],
                }
                for rule in plain["inhibit_rules"]
            ],
        },
    }


def _matcher(text: str) -> dict[str, str]:
    """``name=~"value"`` as the operator's ``{name, value, matchType}``."""
    match = _MATCHER.match(text)
    if match is None:
        raise ValueError(f"not a label matcher: {text}")
    value = match.group("value").replace('\\"', '"').replace("\\\\", "\\")
    return {"name": match.group("name"), "value": value, "matchType": match.group("op")}


_ROUTE_KEYS = {
    "receiver": "receiver",
    "group_by": "groupBy",
    "group_wait": "groupWait",
    "group_interval": "groupInterval",
    "repeat_interval": "repeatInterval",
    "continue": "continue",
}


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {_ROUTE_KEYS[k]: v for k, v in route.items() if k in _ROUTE_KEYS}
    if "matchers" in route:
        out["matchers"] = [_matcher(m) for m in route["matchers"]]
    if "routes" in route:
        out["routes"] = [_route(r) for r in route["routes"]]
    unknown = set(route) - set(_ROUTE_KEYS) - {"matchers", "routes"}
    if unknown:
        raise ValueError(f"no AlertmanagerConfig field for route keys {sorted(unknown)}")
    return out


def _receiver(receiver: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver["name"]}
    for slack in receiver.get("slack_configs", []):
        out.setdefault("slackConfigs", []).append(
            {
                "apiURL": {"name": SECRET, "key": SLACK_URL_KEY},
                "channel": slack["channel"],
                "sendResolved": slack["send_resolved"],
                "title": slack["title"],
                "text": slack["text"],
                "color": slack["color"],
                "actions": slack["actions"],
            }
        )
    for hook in receiver.get("webhook_configs", []):
        authorization = hook["http_config"]["authorization"]
        out.setdefault("webhookConfigs", []).append(
            {
                "url": hook["url"],
                "sendResolved": hook["send_resolved"],
                "httpConfig": {
                    "authorization": {
                        "type": authorization["type"],
                        "credentials": {"name": SECRET, "key": WEBHOOK_TOKEN_KEY},
                    }
                },
            }
        )
    return out
