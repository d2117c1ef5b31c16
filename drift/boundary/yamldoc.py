"""Bounded YAML: the safe tags, duplicate keys refused, nesting and alias expansion bounded before anything walks
the document, integers bounded before they are converted."""

from __future__ import annotations

from typing import Any

import yaml

from .limits import BAD_YAML, OVER_LIMIT, TOO_LARGE, InputError, Limits, shown, size_text

# YAML 1.1 integers include sexagesimal ("1:30:00"), whose conversion multiplies per part: bounded by characters.
MAX_YAML_INTEGER_CHARS = 40


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys (plain YAML silently keeps the last), nesting deeper than
    ``limits.max_depth`` while it composes, and over-long integers while it constructs."""

    limits = Limits(0)

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise InputError(OVER_LIMIT, f"{_where(mark)}nested more than {self.limits.max_depth} levels deep")
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value)
        if len(text) > MAX_YAML_INTEGER_CHARS:
            raise InputError(
                OVER_LIMIT,
                f"{_where(node.start_mark)}an integer of {len(text):,} characters (at most {MAX_YAML_INTEGER_CHARS})",
            )
        value: int = super().construct_yaml_int(node)  # type: ignore[no-untyped-call]
        return value


def _construct_mapping(loader: _BoundedLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {shown(key)}", key_node.start_mark)
            seen.add(key)
        except TypeError:  # an unhashable key (a list): construct_mapping says so, with its position
            pass
    return loader.construct_mapping(node, deep=deep)


_BoundedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many values the document holds once every alias is expanded, counted over the node graph (an alias is
    the same node object as its anchor, so each node is weighed once); stops counting past ``limit``. Raises
    InputError for an alias inside its own anchor (a document of infinite size)."""
    weight: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            open_nodes.discard(key)
            weight[key] = min(limit + 1, 1 + sum(weight[id(child)] for child in children))
            continue
        if key in weight:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise InputError(OVER_LIMIT, f"{_where(child.start_mark)}an alias refers to the node that holds it")
            if id(child) not in weight:
                stack.append((child, False))
    return weight[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str, limits: Limits) -> Any:
    """The value of one YAML document. Raises InputError: ``too_large``, ``over_limit`` (nesting, an expansion of
    aliases beyond ``limits.max_nodes`` values, a recursive alias, an over-long integer) or ``bad_yaml`` (a syntax
    error, a duplicate key, an unknown tag), each with the line and column."""
    if len(text) > limits.max_bytes:
        raise InputError(TOO_LARGE, f"{len(text):,} characters; the limit is {size_text(limits.max_bytes)}")
    loader_class = type("Loader", (_BoundedLoader,), {"limits": limits})
    try:
        loader = loader_class(text)  # its reader checks every character first
    except yaml.YAMLError as exc:
        raise InputError(BAD_YAML, str(exc).splitlines()[0]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, limits.max_nodes)
        if size > limits.max_nodes:
            raise InputError(
                OVER_LIMIT, f"the document holds more than {limits.max_nodes:,} values once its aliases are expanded"
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(BAD_YAML, f"{_where(mark)}{problem}") from None
    except RecursionError:  # a depth our own check did not reach (a deep flow collection in the parser)
        raise InputError(OVER_LIMIT, "nested too deeply") from None
    finally:
        loader.dispose()
