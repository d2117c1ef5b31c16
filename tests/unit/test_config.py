"""The monitor config: the example loads, and every kind of mistake is named with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import drift
from alerts.catalogue import ALERTS
from alerts.config import AlertingConfig
from alerts.loader import load_deployment, parse_deployment
from drift.config import Duration, ListenAddress, SecretRef
from tests.support import REPO, config_dict, write_config


def problems(content: Any, tmp_path: Path) -> list[str]:
    path = tmp_path / "monitor.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    with pytest.raises(drift.ConfigError) as info:
        load_deployment(path)
    return info.value.problems


def with_model(**changes: Any) -> dict[str, Any]:
    content = config_dict()
    content["models"][0].update(changes)
    return content


def test_example_config_loads_with_every_value() -> None:
    cfg = load_deployment(REPO / "examples" / "monitor.yaml")
    model = cfg.models[0]
    assert (model.name, model.namespace) == ("churn-model", "default")
    assert model.reference.data == "s3://churn-model-bucket/data/train.csv"
    assert model.reference.sample_size is None  # obsolete since profile format 2
    assert cfg.exporter.state_dir == "/var/lib/driftline/windows" and cfg.exporter.checkpoint_every.seconds == 5
    assert [f.name for f in model.features][:2] == ["tenure", "monthly_charges"]
    assert model.outputs[0].name == "churn_probability"
    assert model.window.size == 5000 and model.window.max_age.seconds == 3600
    assert model.drift.correction == "fdr" and model.drift.alpha == 0.05
    assert cfg.exporter.evaluate_every.seconds == 30 and cfg.exporter.listen == ListenAddress("0.0.0.0", 8080)
    assert cfg.alerting is not None and cfg.alerting.slack is not None
    assert cfg.alerting.slack.api_url_file == "/etc/alertmanager/secrets/slack_url"
    assert cfg.webhook is not None and cfg.webhook.token == SecretRef("env", "DRIFTLINE_WEBHOOK_TOKEN")
    assert cfg.webhook.github.repository == "my-org/churn-model" and cfg.webhook.cooldown.seconds == 6 * 3600


def test_defaults_fill_in_optional_sections(tmp_path: Path) -> None:
    content = {
        "version": 1,
        "models": [
            {
                "name": "m",
                "reference": {"data": "d.parquet", "profile": "p.json"},
                "features": [{"name": "x", "type": "numeric"}],
            }
        ],
    }
    cfg = load_deployment(write_config(tmp_path, content))
    model = cfg.models[0]
    assert model.namespace == "default" and model.outputs == ()
    assert model.drift == drift.DriftSettings()
    assert model.window.size == 5000 and model.sampling.rate == 1.0
    assert cfg.alerting.slack is None and cfg.webhook is None and cfg.alerting.routing == AlertingConfig().routing
    # every alert's settings are there, each the defaults its definition declares
    assert set(cfg.alerting.alerts) == {alert.settings_key for alert in ALERTS}
    assert all(cfg.alerting.alerts[alert.settings_key] == alert.defaults for alert in ALERTS)
    # relative paths resolve against the config file's folder, whatever the working directory
    assert model.reference.data == str(tmp_path / "d.parquet")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"drift": {"alpha": 1.5}}, "models[0].drift.alpha: must be between 0 and 1, not 1.5"),
        ({"drift": {"alpha": 0}}, "models[0].drift.alpha: must be between 0 and 1, not 0"),
        ({"drift": {"bins": 1}}, "models[0].drift.bins: must be at least 2, not 1"),
        ({"drift": {"bins": "ten"}}, "models[0].drift.bins: must be a whole number, not a string 'ten'"),
        ({"drift": {"correction": "holm"}}, "models[0].drift.correction: must be one of fdr, bonferroni, none"),
        ({"drift": {"drift_share": 0}}, "models[0].drift.drift_share: must be between 0 and 1, not 0"),
        ({"drift": {"psi_threshold": -0.1}}, "models[0].drift.psi_threshold: must be at least 0"),
        ({"window": {"max_age": "30 sec"}}, "models[0].window.max_age: '30 sec' is not a duration"),
        ({"window": {"size": 0}}, "models[0].window.size: must be at least 1, not 0"),
        ({"sampling": {"rate": 0}}, "models[0].sampling.rate: must be between 0 and 1, not 0"),
        ({"name": "Churn_Model"}, "models[0].name: 'Churn_Model' is not an InferenceService name"),
        ({"namespace": "Prod"}, "models[0].namespace: 'Prod' is not a Kubernetes namespace"),
        ({"features": []}, "models[0].features: must list at least one feature"),
        ({"features": [{"name": "x", "type": "float"}]}, "models[0].features[0].type: must be one of numeric"),
        ({"features": [{"name": "x"}]}, "models[0].features[0].type: is required"),
        ({"features": [{"name": "x", "type": "numeric", "dtype": 1}]}, "models[0].features[0].dtype: unknown key"),
        ({"reference": {"data": "x.txt", "profile": "p.json"}}, "models[0].reference.data: cannot tell the format"),
        ({"reference": {"data": "s3://bucket", "profile": "p.json"}}, "models[0].reference.data: 's3://bucket' is not"),
        (
            {"reference": {"data": "gs://b/k.csv", "profile": "p.json"}},
            "models[0].reference.data: 'gs://b/k.csv': only local paths",
        ),
        ({"reference": {"data": "x.csv"}}, "models[0].reference.profile: is required"),
        (
            {"drift": {"corection": "fdr"}},
            "models[0].drift.corection: unknown key 'corection'; did you mean 'correction'?",
        ),
    ],
)
def test_each_problem_names_its_key_path(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    found = problems(with_model(**change), tmp_path)
    assert any(p.startswith(expected) for p in found), found


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    content = with_model(
        features=[{"name": "tenure", "type": "numeric"}, {"name": "tenure", "type": "categorical"}],
        outputs=[{"name": "tenure", "type": "numeric"}],
    )
    content["models"].append(dict(content["models"][0]))
    found = problems(content, tmp_path)
    assert (
        "models[0].features[1].name: 'tenure' is already used by models[0].features[0]; names must be unique" in found
    )
    assert any(p.startswith("models[0].outputs[0].name: 'tenure' is already used") for p in found)
    assert "models[1].name: 'churn-model' in namespace 'default' is already models[0]" in found


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    content = with_model(drift={"alpha": 2, "bins": 0})
    content["exporter"] = {"evaluate_every": "soon", "listen": "8080"}
    found = problems(content, tmp_path)
    assert len(found) == 4, found


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"webhook": {"token": "hunter2", "github": {"repository": "a/b", "token": "env:T"}}},
            "webhook.token: must be a reference",
        ),
        (
            {"webhook": {"token": "env:X", "github": {"repository": "a/b", "token": "ghp_secret"}}},
            "webhook.github.token: must be a reference",
        ),
        (
            {"webhook": {"token": "env:X", "github": {"repository": "nope", "token": "env:T"}}},
            "webhook.github.repository",
        ),
        (
            {"webhook": {"token": "env:X", "github": {"repository": "a/b", "token": "env:T", "event_type": "x" * 101}}},
            "webhook.github.event_type: must be at most 100 characters",
        ),
        (
            {"alerting": {"slack": {"channel": "#a", "api_url": "https://hooks"}}},
            "alerting.slack.api_url: secrets never go",
        ),
        ({"alerting": {"runbook_url": "runbooks"}}, "alerting.runbook_url: 'runbooks' is not an http"),
        ({"exporter": {"max_body_bytes": 10}}, "exporter.max_body_bytes: must be at least 1024"),
        ({"s3": {"endpoint_url": "localhost:9000"}}, "s3.endpoint_url: 'localhost:9000' is not an http"),
        ({"version": 2}, "version: must be 1"),
        ({"modles": []}, "modles: unknown key 'modles'; did you mean 'models'?"),
    ],
)
def test_top_level_sections_are_validated(tmp_path: Path, section: dict[str, Any], expected: str) -> None:
    content = config_dict()
    content.update(section)
    found = problems(content, tmp_path)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("version: 1\nmodels: [\n", "invalid YAML: line 3, column 1"),
        ("version: 1\nversion: 1\n", "invalid YAML: line 2, column 1: duplicate key 'version'"),
        ("- a\n- b\n", "(top level): must be a mapping"),
    ],
)
def test_unreadable_yaml(tmp_path: Path, text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(text, tmp_path))


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        ("500ms", 0.5, "500ms"),
        ("30s", 30, "30s"),
        ("5m", 300, "5m"),
        ("1h", 3600, "1h"),
        ("1d", 86400, "1d"),
        ("1h30m", 5400, "1h30m"),
        ("90s", 90, "1m30s"),
    ],
)
def test_durations(text: str, seconds: float, canonical: str) -> None:
    d = Duration.parse(text)
    assert d.seconds == seconds and str(d) == canonical


@pytest.mark.parametrize("text", ["30 sec", "30", "", "s", "1.5h", "0s", "5ms1s", "-1m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        Duration.parse(text)


def test_listen_addresses() -> None:
    assert ListenAddress.parse("127.0.0.1:0") == ListenAddress("127.0.0.1", 0)
    assert ListenAddress.parse("[::]:8080") == ListenAddress("::", 8080)
    assert str(ListenAddress.parse("[::]:8080")) == "[::]:8080"
    assert ListenAddress.parse(":9000").host == "0.0.0.0"
    for bad in ("8080", "host:", "host:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            ListenAddress.parse(bad)


def test_model_lookup_names_the_known_models() -> None:
    cfg = parse_deployment(config_dict())
    assert cfg.model("churn-model").name == "churn-model"
    with pytest.raises(drift.ConfigError, match=r"no model named 'fraud' .*churn-model"):
        cfg.model("fraud")


TARGET = {"name": "churned", "task": "classification", "positive": 1}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"target": {"name": "churned", "task": "classification"}},
         "models[0].target.positive: 'churn_probability' is numeric, so it is a score"),
        ({"target": {**TARGET, "prediction": "score"}}, "models[0].target.prediction: 'score' is not one of the"),
        ({"target": {**TARGET, "name": "tenure"}}, "models[0].target.name: 'tenure' is already used by models[0]"),
        ({"target": {**TARGET, "task": "ranking"}}, "models[0].target.task: must be one of classification, regression"),
        ({"target": {**TARGET, "metric": "mae"}}, "models[0].target.metric: must be one of accuracy"),
        ({"target": {**TARGET, "positive": [1]}}, "models[0].target.positive: [1] is not a class label"),
        ({"target": {**TARGET, "max_degradation": 0}}, "models[0].target.max_degradation: must be"),
        ({"target": {**TARGET, "window": {"size": 0}}}, "models[0].target.window.size: must be at least 1"),
        ({"target": {**TARGET, "detecter_delta": 0.01}}, "models[0].target.detecter_delta: unknown key"),
        ({"feedback": {"ttl": "1d"}}, "models[0].feedback: labels need a target"),
        ({"target": TARGET, "feedback": {"s3_labels": "gs://x"}}, "models[0].feedback.s3_labels: 'gs://x' is not s3://"),
        ({"target": TARGET, "feedback": {"store_size": 0}}, "models[0].feedback.store_size: must be at least 1"),
        (
            {"target": {"name": "y", "task": "classification", "metric": "roc_auc"},
             "outputs": [{"name": "label", "type": "categorical"}]},
            "models[0].target.metric: roc_auc needs a binary classifier's score",
        ),
        (
            {"target": {"name": "y", "task": "regression"}, "outputs": [{"name": "label", "type": "categorical"}]},
            "models[0].target.prediction: a regression's prediction must be numeric",
        ),
        (
            {"target": {"name": "y", "task": "regression"}, "outputs": [{"name": "a", "type": "numeric"},
                                                                       {"name": "b", "type": "numeric"}]},
            "models[0].target.prediction: name the output the label is compared with",
        ),
    ],
)  # fmt: skip
def test_target_and_feedback_problems(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    found = problems(with_model(**change), tmp_path)
    assert any(p.startswith(expected) for p in found), found


def test_target_defaults(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(with_model(target={"name": "churned", "task": "classification", "positive": True})))
    model = load_deployment(path).models[0]
    assert model.target is not None and model.target.prediction == "churn_probability"
    assert model.target.positive == "true" and model.target.metric == "accuracy" and model.target.threshold == 0.5
    assert model.target.window.max_age == Duration(30 * 86400.0) and model.feedback.ttl == Duration(7 * 86400.0)
    assert model.profiled_columns[-1] == drift.ColumnConfig("churned", "categorical")


def test_obsolete_reference_sampling_keys_load_and_are_warned_about() -> None:
    from alerts.loader import unsafe_settings

    content = config_dict()
    content["models"][0]["reference"].update(sample_size=20000, seed=3)
    warnings = unsafe_settings(parse_deployment(content))
    assert [w.split(":")[0] for w in warnings] == ["models[0].reference.sample_size", "models[0].reference.seed"]
    assert all("has no effect since profile format 2" in w for w in warnings)


def test_window_min_rows_and_state_dir_are_validated(tmp_path: Path) -> None:
    content = config_dict()
    content["models"][0]["window"] = {"min_rows": -1}
    content["exporter"] = {"state_dir": "s3://bucket/state", "checkpoint_every": "soon"}
    with pytest.raises(drift.ConfigError) as info:
        parse_deployment(content, base_dir=tmp_path)
    text = "\n".join(info.value.problems)
    assert "models[0].window.min_rows" in text and "exporter.state_dir" in text and "exporter.checkpoint_every" in text
    content = config_dict()
    content["exporter"] = {"state_dir": "state"}
    assert parse_deployment(content, base_dir=tmp_path).exporter.state_dir == str(tmp_path / "state")
