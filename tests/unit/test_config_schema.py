"""The monitor config's JSON Schema: generated from the loader, so the two agree.

Every example config validates (tests/integration/test_shipping.py runs check-jsonschema on them, as an editor or
CI would, and checks their yaml-language-server line); on a corpus of valid and invalid configs — derived from the
schema itself, one broken key at a time, so every key is tried — the schema and ``drift.parse_config`` give the same
answer. The rules between keys that a JSON Schema cannot state are listed, and the schema is shown to let them pass:
check-config catches them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from alerts.loader import parse_deployment
from drift.config.jsonschema import config_schema, schema_text
from drift.errors import ConfigError
from driftline.docs import ALERTS_BEGIN, ALERTS_END
from tests.support import REPO

SCHEMA_FILE = REPO / "docs" / "monitor.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(config_schema(parse_deployment))

# Every section present: the corpus breaks one key of it at a time.
FULL: dict[str, Any] = {
    "version": 1,
    "s3": {"endpoint_url": "http://127.0.0.1:9000", "region": "eu-west-1"},
    "exporter": {
        "listen": "0.0.0.0:8080", "evaluate_every": "30s", "max_body_bytes": 1048576, "reference_check_every": "2m",
        "report_interval": "1m", "report_max_rows": 5000, "state_dir": "/var/lib/driftline", "checkpoint_every": "5s",
        "bin_counts": True, "replicas": 2,
    },
    "models": [
        {
            "name": "churn-model", "namespace": "default",
            "reference": {"data": "s3://b/train.csv", "profile": "s3://b/{version}/profile.json", "format": "csv",
                          "sample_size": 1000, "seed": 1},
            "features": [{"name": "tenure", "type": "numeric"}, {"name": "contract", "type": "categorical"}],
            "outputs": [{"name": "p", "type": "numeric"}],
            "window": {"size": 5000, "max_age": "1h", "min_rows": 100},
            "sampling": {"rate": 0.5},
            "drift": {"bins": 10, "psi_threshold": 0.1, "alpha": 0.05, "correction": "fdr", "drift_share": 0.5,
                      "max_categories": 50, "range_margin": 0.1},
            "source": {"s3_logs": "s3://b/logs", "poll": "1m", "max_objects_per_poll": 100, "watermark": "wm.json"},
            "target": {"name": "churned", "task": "classification", "prediction": "p", "positive": 1,
                       "threshold": 0.5, "metric": "roc_auc", "max_degradation": 0.1, "min_samples": 200,
                       "window": {"size": 5000, "max_age": "30d"}, "detector_delta": 0.002},
            "feedback": {"store_size": 1000, "ttl": "7d", "s3_labels": "s3://b/labels", "poll": "5m"},
            "multivariate": {"variance": 0.7, "reference_rows": 10000},
            "versions": {"source": "annotation", "name": "driftline.io/model-version", "max_versions": 4,
                         "references": {"v1": "s3://b/v1/profile.json"}, "wait": "1m", "compare_outputs": True},
        }
    ],
    "alerting": {
        "runbook_url": "https://example.org/runbooks/{alertname}",
        "grafana_url": "https://grafana.example.org",
        "exporter_url": "http://driftline-exporter:8080",
        "exporter_job": "driftline-exporter",
        "slack": {"channel": "#ml", "api_url_file": "/etc/slack"},
        "retrain_webhook": {"url": "http://hook:8081/alertmanager", "credentials_file": "/etc/token",
                            "repeat_interval": "1d"},
        "alerts": {"feature_drift": {"enabled": True, "for": "10m", "keep_firing_for": "0s"},
                   "serving_latency": {"threshold": "2s", "quantile": 0.95}},
        "routing": {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"},
    },
    "dashboards": {"cluster_label": "cluster"},
    "webhook": {
        "listen": "0.0.0.0:8081", "token": "env:WEBHOOK_TOKEN", "cooldown": "6h", "state": "/var/lib/wh.sqlite",
        "max_body_bytes": 1048576,
        "github": {"repository": "org/repo", "token": "file:/etc/gh", "event_type": "drift-detected",
                   "api_url": "https://api.github.com", "repositories": {"churn-model": "org/churn"},
                   "timeout": "10s"},
        "retry": {"initial_backoff": "1s", "max_backoff": "10m", "give_up_after": "1d"},
    },
}  # fmt: skip

# Rules between keys: the loader refuses each, a JSON Schema cannot say them (check-config does).
PARSER_ONLY = {
    "two models with one name": lambda c: c["models"].append(copy.deepcopy(c["models"][0])),
    "a feature named twice": lambda c: c["models"][0]["features"].append({"name": "tenure", "type": "numeric"}),
    "target.prediction not an output": lambda c: c["models"][0]["target"].update(prediction="nope"),
    "a regression metric for a classifier": lambda c: c["models"][0]["target"].update(metric="rmse"),
    "versions.name missing for an annotation": lambda c: c["models"][0]["versions"].pop("name"),
    "replicas without bin counts": lambda c: c["exporter"].update(bin_counts=False),
    "multivariate drift over one feature": lambda c: c["models"][0].update(features=c["models"][0]["features"][:1]),
    "no format and an unknown extension": lambda c: c["models"][0]["reference"].update(data="s3://b/t", format="auto"),
}


def parses(config: Any) -> bool:
    try:
        parse_deployment(copy.deepcopy(config), base_dir="/srv")
    except ConfigError:
        return False
    return True


def schema_accepts(config: Any) -> bool:
    return VALIDATOR.is_valid(config)


def leaves(schema: dict[str, Any], config: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict]]:
    """(path, schema) of every key of ``config`` the schema describes, sections included."""
    if not isinstance(config, dict):
        return
    for key, value in config.items():
        sub = schema.get("properties", {}).get(key)
        if sub is None:
            continue
        yield (*path, key), sub
        if isinstance(value, dict):
            yield from leaves(_object(sub), value, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from leaves(_object(sub)["items"], item, (*path, key, i))


def _object(schema: dict[str, Any]) -> dict[str, Any]:
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


def replaced(config: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(config)
    here: Any = out
    for step in path[:-1]:
        here = here[step]
    here[path[-1]] = value
    return out


def removed(config: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    here: Any = out
    for step in path[:-1]:
        here = here[step]
    del here[path[-1]]
    return out


def wrong_values(schema: dict[str, Any]) -> list[Any]:
    """Values the key's schema refuses: another type, past each bound, outside the enum, off the pattern."""
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    values: list[Any] = []
    if "object" in kinds:
        values.append(["a", "list"])
        return values
    if "array" in kinds:
        values.append("not a list")
    values.append({"a": "mapping"})
    if "string" not in kinds and "enum" not in schema and "anyOf" not in schema:
        values.append("text")
    if "boolean" not in kinds and kinds:
        values.append(True)
    for bound, step in (("minimum", -1), ("exclusiveMinimum", 0), ("maximum", 1), ("exclusiveMaximum", 0)):
        if bound in schema:
            values.append(schema[bound] + step * (1 if schema.get("type", "") == "integer" else 0.5))
    if "enum" in schema:
        values.append("not-one-of-them")
    if "pattern" in schema and "string" in kinds:
        values.append(" ")
    if "maxLength" in schema:
        values.append("x" * (schema["maxLength"] + 1))
    return values


def corpus() -> Iterator[tuple[str, dict[str, Any]]]:
    schema = config_schema(parse_deployment)
    for path, sub in leaves(schema, FULL):
        where = ".".join(map(str, path))
        for value in wrong_values(_object(sub) if "anyOf" in sub and "properties" in _object(sub) else sub):
            yield f"{where} = {value!r}", replaced(FULL, path, value)
    for path, sub in leaves(schema, FULL):
        target = _object(sub)
        if target.get("additionalProperties") is False:
            parent = replaced(FULL, path, {**_at(FULL, path), "surplus_key": 1})
            yield f"{'.'.join(map(str, path))}.surplus_key", parent
        for required in target.get("required", []):
            if required in (_at(FULL, path) or {}):
                yield f"{'.'.join(map(str, path))} without {required}", removed(FULL, (*path, required))
    yield "an unknown top-level key", {**FULL, "modles": []}
    yield "no models", {**FULL, "models": []}
    yield "version 2", {**FULL, "version": 2}


def _at(config: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        config = config[step]
    return config


def test_the_schema_is_a_valid_draft_2020_12_schema_and_the_files_are_fresh() -> None:
    jsonschema.Draft202012Validator.check_schema(config_schema(parse_deployment))
    assert SCHEMA_FILE.read_text() == schema_text(parse_deployment), "run make generated"
    assert (REPO / "drift" / "config" / "monitor.schema.json").read_text() == schema_text(parse_deployment)


def test_the_monitor_configs_in_the_docs_validate() -> None:
    """Their keys, types and values; the docs show fragments (only the keys a page is about), so a key left out is
    not an error here."""
    found = 0
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for block in page.read_text().split("```yaml")[1:]:
            for document in yaml.safe_load_all(block.split("```")[0]):
                if isinstance(document, dict) and "models" in document:
                    errors = [e.message for e in VALIDATOR.iter_errors(document) if e.validator != "required"]
                    assert not errors, f"{page.name}: {errors}"
                    found += 1
    assert found >= 1


def test_the_full_config_and_its_defaults_are_valid_to_both() -> None:
    assert parses(FULL) and schema_accepts(FULL)
    for path, sub in leaves(config_schema(parse_deployment), FULL):
        if "default" in sub:
            config = replaced(FULL, path, sub["default"])
            assert parses(config) == schema_accepts(config), path
        # the loader reads null as "not given", and so does the schema
        nulled, absent = replaced(FULL, path, None), removed(FULL, path)
        assert (parses(nulled), schema_accepts(nulled)) == (parses(absent), schema_accepts(absent)), path


def test_schema_and_parser_refuse_the_same_broken_configs() -> None:
    cases = list(corpus())
    disagree = [name for name, config in cases if schema_accepts(config) or parses(config)]
    assert not disagree, disagree
    assert len(cases) > 200, len(cases)  # every key was broken, some several ways


@pytest.mark.parametrize("rule", sorted(PARSER_ONLY))
def test_rules_between_keys_are_the_parsers_alone(rule: str) -> None:
    config = copy.deepcopy(FULL)
    PARSER_ONLY[rule](config)
    assert not parses(config), rule
    assert schema_accepts(config), f"{rule}: the schema now says this; move it out of PARSER_ONLY"


def test_the_schema_file_is_json_an_editor_reads() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$id"].endswith("/docs/monitor.schema.json")
    assert {"required": ["models"], "properties": {"models": {"type": "array", "minItems": 1}}} in schema["allOf"][0][
        "anyOf"
    ]
    assert {"required": ["model_files"]} in schema["allOf"][0]["anyOf"]  # team files may hold every model
    models = schema["properties"]["models"]["items"]
    assert models["required"] == ["name", "reference"] or set(models["required"]) >= {"name", "reference"}
    assert models["properties"]["drift"]["properties"]["correction"]["enum"][:3] == ["fdr", "bonferroni", "none"]


def documented_keys() -> dict[str, str]:
    """The key table of docs/config.md: key path -> its default cell. A row may list siblings
    (`` `a.b`, `.c` | `1s`, `10m` ``): each gets its own key and, when the defaults are listed alike, its own."""
    found: dict[str, str] = {}
    text = (REPO / "docs" / "config.md").read_text()
    text = text[: text.index(ALERTS_BEGIN)] + text[text.index(ALERTS_END) :]  # keyed by alert: its own test below
    for keys, defaults in re.findall(r"^\| (`[a-z_][\w.\[\]]*`(?:, `\.\w+`)*) \| ([^|]*) \|", text, re.M):
        names = re.findall(r"`([^`]+)`", keys)
        parent = names[0].rsplit(".", 1)[0]
        full = [names[0], *(parent + name for name in names[1:])]
        values = [d.strip() for d in defaults.split(", ")]
        for i, key in enumerate(full):
            found[key] = values[i] if len(values) == len(full) else defaults.strip()
    return found


def schema_at(schema: dict[str, Any], key: str) -> dict[str, Any] | None:
    for part in key.split("."):
        node = _object(schema)
        if part.endswith("[]"):
            node = _object(node.get("properties", {}).get(part[:-2], {}))
            schema = node.get("items", node)
            continue
        found = node.get("properties", {}).get(part)
        if found is None:
            return None
        schema = found
    return schema


def is_section(schema: dict[str, Any]) -> bool:
    node = _object(schema)
    return "properties" in node or "properties" in node.get("items", {})


def test_the_docs_key_table_has_the_schemas_keys_and_defaults() -> None:
    schema = config_schema(parse_deployment)
    documented = documented_keys()
    for key, default in documented.items():
        if "NAME" in key:
            continue
        at = schema_at(schema, key)
        assert at is not None, f"docs/config.md documents {key}, which the loader does not read"
        literal = re.fullmatch(r"`([^`]*)`", default)
        if literal and "default" in at:
            assert yaml.safe_load(literal.group(1)) == at["default"], key
    listed = {re.sub(r"\.\d+", "[]", ".".join(map(str, path))) for path, _ in leaves(schema, FULL)}
    documented_paths = {key.replace("[]", "") if key.endswith("[]") else key for key in documented}
    missing = sorted(
        key
        for key in listed
        if not is_section(schema_at(schema, key) or {})  # a section or a list of them: its keys are the rows
        and key.replace("[]", "") not in documented_paths
        and key not in documented
        and not key.startswith("alerting.alerts.")  # documented per NAME
        and not key.startswith(("models[].features[]", "models[].outputs[]"))  # one row: {name, type}
    )
    assert not missing, f"keys the loader reads and docs/config.md does not list: {missing}"


def test_the_docs_table_of_alert_settings_lists_every_key_the_loader_reads_with_its_default() -> None:
    schema = config_schema(parse_deployment)
    alerts = schema_at(schema, "alerting.alerts")
    assert alerts is not None
    text = (REPO / "docs" / "config.md").read_text()
    table = text[text.index(ALERTS_BEGIN) : text.index(ALERTS_END)]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| (.*)$", table, re.M)}
    assert set(rows) == set(_object(alerts)["properties"])
    for name, settings in _object(alerts)["properties"].items():
        keys = _object(settings)["properties"]
        assert {"enabled", "for", "keep_firing_for"} <= set(keys), name
        for key, sub in keys.items():
            if key in ("enabled", "for", "keep_firing_for"):
                continue
            assert f"`{key}`: `{sub['default']}`" in rows[name], (name, key)
