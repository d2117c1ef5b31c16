"""An alert owns its settings: the catalogue declares each alert's defaults and knobs, the config reads them from
there, and the rules, the runbooks and the dashboards say the configured value. drift's own reader leaves the
``alerting:`` and ``webhook:`` sections to the alerting side."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import drift
from alerts.catalogue import ALERTS
from alerts.catalogue.data_quality import OUT_OF_RANGE
from alerts.catalogue.exporter import REFERENCE_STALE
from alerts.catalogue.serving import SERVING_LATENCY
from alerts.loader import parse_deployment
from alerts.rules import rule_groups
from drift.errors import ConfigError
from driftline.generate import generate
from tests.support.data import config_dict


def tuned(**alerts: dict[str, Any]) -> dict[str, Any]:
    content = config_dict()
    content["alerting"] = {"alerts": alerts}
    return content


def rule(config: Any, name: str) -> dict[str, Any]:
    return next(r for group in rule_groups(config) for r in group["rules"] if r.get("alert") == name)


def test_every_alert_declares_its_settings_once_and_its_knobs_appear_in_its_runbook() -> None:
    keys = [alert.settings_key for alert in ALERTS]
    assert len(keys) == len(set(keys))
    for alert in ALERTS:
        for knob in alert.knobs:
            assert "{" + knob.key + "}" in alert.runbook, (alert.name, knob.key)
        rendered = alert.runbook_text(alert.defaults)
        assert not re.search(r"\{(threshold|max_age|quantile)\}", rendered), alert.name


def test_configured_thresholds_reach_the_rule_the_runbook_and_the_dashboard() -> None:
    config = parse_deployment(
        tuned(
            out_of_range={"threshold": 0.02, "for": "5m"},
            reference_stale={"max_age": "30d"},
            serving_latency={"threshold": "250ms", "quantile": 0.95},
        )
    )
    assert OUT_OF_RANGE.settings(config).limit == 0.02 and OUT_OF_RANGE.settings(config).for_.seconds == 300
    assert rule(config, OUT_OF_RANGE.name)["expr"].endswith("> 0.02") and rule(config, OUT_OF_RANGE.name)["for"] == "5m"
    assert rule(config, REFERENCE_STALE.name)["expr"].endswith(f"> {30 * 86400}")
    assert rule(config, SERVING_LATENCY.name)["expr"].endswith("> 0.25")

    files = generate(config)
    runbooks = files["runbooks.md"]
    assert "(`alerting.alerts.out_of_range.threshold`: 2%)" in runbooks
    assert "`alerting.alerts.reference_stale.max_age`\n(30d)" in runbooks
    assert "(`alerting.alerts.serving_latency.quantile`:\n95%)" in runbooks and "threshold`: 250ms)" in runbooks
    assert "fires after 5m, keeps firing for 15m (`alerting.alerts.out_of_range`)" in runbooks
    # the documentation's page is the defaults'
    assert "(`alerting.alerts.out_of_range.threshold`: 1%)" in generate(parse_deployment(config_dict()))["runbooks.md"]

    exporter = json.loads(files["dashboards/driftline-exporter.json"])
    ages = [p for p in exporter["panels"] if p.get("title") == "Reference age"]
    assert [s.get("value") for s in ages[0]["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 30 * 86400.0]


def test_a_disabled_alert_says_so_in_the_runbooks_of_its_config() -> None:
    runbooks = generate(parse_deployment(tuned(no_traffic={"enabled": False})))["runbooks.md"]
    section = runbooks[runbooks.index("## DriftlineNoTraffic") :]
    assert "**Disabled in this config.**" in section.split("## ", 2)[1]


def test_an_unknown_alert_or_knob_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_deployment(tuned(out_of_rnage={"threshold": 0.02}, reject_rate={"treshold": 0.1}))
    problems = caught.value.problems
    assert any(p.startswith("alerting.alerts.out_of_rnage: unknown key") and "'out_of_range'" in p for p in problems)
    assert any(p.startswith("alerting.alerts.reject_rate.treshold: unknown key") for p in problems)


def test_a_ratio_knob_refuses_a_value_outside_0_and_1() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_deployment(tuned(payload_errors={"threshold": 1.5}))
    assert [p.split(":")[0] for p in caught.value.problems] == ["alerting.alerts.payload_errors.threshold"]


def test_drift_reads_its_part_and_leaves_the_alerting_sides_sections_to_it() -> None:
    content = tuned(out_of_rnage={"threshold": "lots"})
    content["webhook"] = {"listen": 7}
    config = drift.parse_config(content)  # a notebook: the models, whatever the alerting side holds
    assert config.models[0].name == "churn-model" and not hasattr(config, "alerting")
    with pytest.raises(ConfigError) as caught:
        parse_deployment(content)
    keys = {p.split(":")[0] for p in caught.value.problems}
    assert "alerting.alerts.out_of_rnage" in keys and "webhook.listen" in keys
    # a key drift does not know is still refused by both
    content["alertng"] = {}
    for parse in (drift.parse_config, parse_deployment):
        with pytest.raises(ConfigError, match="alertng"):
            parse(content)
