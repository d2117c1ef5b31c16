"""The monitor config's JSON Schema, generated from the loader itself.

The loader reads a :class:`~.values.Blueprint` — a mapping with every key and no value — and records, section by
section, each key it asks for, the parser that reads it (every parser carries the JSON Schema of what it accepts,
:func:`~.values.accepts`), its default and whether it is required; lists and nested sections become arrays and
objects, and a section the loader closes with ``finish()`` refuses other keys. So the schema cannot drift from the
parser. What it cannot say are the rules between keys (unique model names, ``target.prediction`` naming an output,
exactly one of ``pipeline_package``/``pipeline_id``…): ``driftline check-config`` checks those.

``python -m driftline.docs`` writes it to ``drift/config/monitor.schema.json`` (shipped in the package) and
``docs/monitor.schema.json``; editors read it through the ``# yaml-language-server: $schema=...`` line.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .loader import parse_config
from .reader import Blueprint, Field
from .values import Duration, JsonSchema, ListenAddress, SecretRef, schema_of

SCHEMA_URL = "https://raw.githubusercontent.com/driftline/driftline/main/docs/monitor.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schema(parse: Callable[[Any], object] = parse_config) -> JsonSchema:
    """The JSON Schema (draft 2020-12) of a monitor config, as ``parse`` reads one: drift's part by default, the
    whole file with :func:`alerts.loader.parse_deployment`."""
    root = Blueprint()
    with contextlib.suppress(ConfigError):  # a blueprint has no values: every required one is "missing"
        parse(root)
    schema: JsonSchema = {
        "$schema": DIALECT,
        "$id": SCHEMA_URL,
        "title": "driftline monitor config",
        "description": "What driftline monitors and how it alerts: models, their reference data, windows, drift "
        "settings, the exporter, alerting and the retraining webhook. Generated from driftline's config loader.",
        **_object(root),
    }
    if "model_files" in schema["properties"]:
        # the one rule between keys the schema says: `models` may be left empty only beside a model_files folder
        either = [
            {"required": ["model_files"]},
            {"required": ["models"], "properties": {"models": {"type": "array", "minItems": 1}}},
        ]
        schema["allOf"] = [{"anyOf": either}]
    return schema


def schema_text(parse: Callable[[Any], object] = parse_config) -> str:
    return json.dumps(config_schema(parse), indent=2, ensure_ascii=False) + "\n"


def _object(blueprint: Blueprint) -> JsonSchema:
    schema: JsonSchema = {
        "type": "object",
        "properties": {key: _field(field) for key, field in blueprint.fields.items()},
    }
    required = [key for key, field in blueprint.fields.items() if field.required]
    if required:
        schema["required"] = required
    if blueprint.closed:
        schema["additionalProperties"] = False
    return schema


def _field(field: Field) -> JsonSchema:
    """A key's schema. The loader reads ``null`` as "not given", so an optional key also accepts it."""
    if field.kind == "section":
        assert field.child is not None
        return _object(field.child) if field.required else _nullable(_object(field.child))
    if field.kind == "list":
        assert field.child is not None
        array: JsonSchema = {"type": "array", "items": _object(field.child)}
        if field.child.at_least_one:
            array["minItems"] = 1
            return array
        return _nullable(array)
    assert field.parse is not None
    if field.kind == "map":
        schema: JsonSchema = {"type": "object", "additionalProperties": schema_of(field.parse)}
        if field.names is not str:
            schema["propertyNames"] = schema_of(field.names)
        return _nullable(schema)
    schema = dict(schema_of(field.parse))
    if not field.required:
        schema = _nullable(schema)
    default = _json(field.default)
    if default is not None:
        schema["default"] = default
    return schema


def _nullable(schema: JsonSchema) -> JsonSchema:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**schema, "type": [*kind, "null"]}
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    return {"anyOf": [schema, {"type": "null"}]}


def _json(value: Any) -> Any:
    """A default as the YAML would spell it; None when there is none worth showing."""
    if isinstance(value, Duration | ListenAddress | SecretRef):
        return str(value)
    if isinstance(value, tuple):
        items = [_json(item) for item in value]
        return items if items and None not in items else None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float) or (isinstance(value, str) and value):
        return value
    return None


__all__ = ["SCHEMA_URL", "config_schema", "schema_text"]
