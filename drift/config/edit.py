"""Edits to a monitor config file that keep everything else of it — comments, order, quoting, flow style — as the
user wrote it: the value is replaced at its place in the text, found from the YAML parser's positions, and the
result must validate as a config before the file is replaced (atomically)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from ..errors import ConfigError
from ..reference.storage import write_bytes
from .loader import load_config, parse_config_text
from .schema import MODEL_VERSION, VERSION_PLACEHOLDER, ModelConfig, MonitorConfig

_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./:@+~=-]*")  # may go unquoted: a path, a URI


def set_reference_profile(
    path: str | os.PathLike[str],
    model: str,
    namespace: str | None,
    uri: str,
    check: Callable[[MonitorConfig, ModelConfig], None] | None = None,
) -> str:
    """Point ``models[model].reference.profile`` at ``uri`` in the file at ``path``; returns the previous value.

    ``namespace`` picks among models of the same name (None: the name must be unique). The edited config must load,
    and pass ``check`` (given it and the edited model, e.g. to read the new profile), before the file is replaced;
    on any problem the file is left as it was and the error raised.
    """
    source = str(path)
    current = load_config(path)  # a missing, unreadable or invalid file is reported as the other commands report it
    text = Path(path).read_text(encoding="utf-8")
    node = _profile_node(yaml.compose(text), model, namespace, source)
    previous = str(node.value)
    if VERSION_PLACEHOLDER in previous:
        _check_found(current, model, namespace, previous, uri, source, check)
        return previous
    edited = text[: node.start_mark.index] + _scalar(uri) + text[node.end_mark.index :]
    config = parse_config_text(edited, path)  # problems are named by the file's own path
    if check is not None:
        check(config, next(m for m in config.models if m.name == model and namespace in (None, m.namespace)))
    write_bytes(str(path), edited.encode("utf-8"), content_type="application/yaml")
    return previous


def version_in(template: str, uri: str) -> str | None:
    """The model version ``uri`` is the ``{version}`` path of, or None."""
    before, _, after = template.partition(VERSION_PLACEHOLDER)
    found = re.fullmatch(re.escape(before) + f"({MODEL_VERSION})" + re.escape(after), uri)
    return found.group(1) if found else None


def _check_found(
    config: MonitorConfig,
    model: str,
    namespace: str | None,
    template: str,
    uri: str,
    source: str,
    check: Callable[[MonitorConfig, ModelConfig], None] | None,
) -> None:
    """A reference.profile with ``{version}`` finds every version's profile: nothing to edit, but the new profile
    must be where it looks and pass ``check`` (as the edited model would)."""
    if version_in(template, uri) is None:
        message = f"model {model!r}: reference.profile {template} finds each version's profile; {uri} is not one"
        raise ConfigError([message], source)
    found = next(m for m in config.models if m.name == model and namespace in (None, m.namespace))
    if check is not None:
        check(config, dataclasses.replace(found, reference=dataclasses.replace(found.reference, profile=uri)))


def _scalar(value: str) -> str:
    """``value`` as YAML: plain when it reads back as the same string, else double-quoted (a JSON string is one)."""
    if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _profile_node(root: yaml.Node | None, model: str, namespace: str | None, source: str) -> yaml.ScalarNode:
    models = _child(root, "models")
    if not isinstance(models, yaml.SequenceNode):
        raise ConfigError(["models: must be a list of models"], source)
    matches = []
    for item in models.value:
        name, space = _child(item, "name"), _child(item, "namespace")
        in_namespace = (
            namespace is None or (space.value if isinstance(space, yaml.ScalarNode) else "default") == namespace
        )
        if isinstance(name, yaml.ScalarNode) and name.value == model and in_namespace:
            matches.append(item)
    where = f"{model!r}" + (f" in namespace {namespace!r}" if namespace else "")
    if not matches:
        raise ConfigError([f"no model {where}"], source)
    if len(matches) > 1:
        raise ConfigError([f"several models named {model!r}: say which with --namespace"], source)
    profile = _child(_child(matches[0], "reference"), "profile")
    if not isinstance(profile, yaml.ScalarNode):
        raise ConfigError([f"model {where}: reference.profile is missing or not a string"], source)
    return profile


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
