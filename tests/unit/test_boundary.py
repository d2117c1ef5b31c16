"""The untrusted boundary (drift.boundary): every decoder checked against the standard library where the input is
within bounds, and refusing — with InputError and nothing else — where it is not."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.boundary import InputError, Limits, decode_json, load_yaml, open_regular, read_regular, shown

LIMITS = Limits(max_bytes=1 << 20, max_depth=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_json_within_bounds_reads_as_the_standard_library_reads_it(value: Any) -> None:
    text = json.dumps(value)
    if depth(value) <= LIMITS.max_depth:
        assert decode_json(text.encode(), LIMITS) == json.loads(text)
        assert decode_json(text, LIMITS) == json.loads(text)
    else:
        with pytest.raises(InputError) as refused:
            decode_json(text.encode(), LIMITS)
        assert refused.value.reason == "over_limit"


@pytest.mark.parametrize("levels", [8, 9, 64, 1000, 100_000])
def test_nesting_is_refused_beyond_the_limit_on_both_parsing_paths(levels: int) -> None:
    for inner in ("", "NaN"):  # orjson reads the first, the standard library the second (NaN)
        text = "[" * levels + inner + "]" * levels
        if levels <= LIMITS.max_depth:
            assert depth(decode_json(text, LIMITS)) == levels
        else:
            with pytest.raises(InputError, match="nested") as refused:
                decode_json(text, LIMITS)
            assert refused.value.reason == "over_limit"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"a": "[" * 10_000, "b": [[1]]})
    assert decode_json(text, LIMITS)["a"] == "[" * 10_000


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("9223372036854775807", 2**63 - 1),
        ("18446744073709551615", 2**64 - 1),
        ("18446744073709551616", float(2**64)),  # beyond 64 bits: a float, as orjson reads it
        ("-9223372036854775809", -float(2**63 + 1)),
        ("1" + "0" * 300, 1e300),
    ],
)
def test_integers_read_the_same_whether_or_not_the_document_also_holds_a_nan(token: str, expected: float) -> None:
    plain = decode_json(f"[{token}]", LIMITS)[0]
    with_nan = decode_json(f"[{token}, NaN]", LIMITS)[0]
    assert plain == with_nan == expected and type(plain) is type(with_nan)


@pytest.mark.parametrize("digits", [309, 400, 401, 5000, 100_000])
def test_integers_beyond_float_range_are_refused_before_they_are_converted(digits: int) -> None:
    with pytest.raises(InputError, match=f"{digits:,} digits") as refused:
        decode_json("[" + "9" * digits + "]", LIMITS.with_bytes(1 << 20))
    assert refused.value.reason == "over_limit"


def test_nan_and_infinity_are_read() -> None:
    value = decode_json(b'{"a": NaN, "b": Infinity, "c": -Infinity}', LIMITS)
    assert math.isnan(value["a"]) and value["b"] == math.inf and value["c"] == -math.inf


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "bad_json"),
        (b"   ", "bad_json"),
        (b"{not json", "bad_json"),
        (b"\x00\x01\x02binary tensor", "binary_payload"),
        (b'{"a": "\xff\xfe"}', "binary_payload"),
        (b'{"a": 1}\x00\x00raw tensor bytes', "binary_payload"),
        (b"x" * (LIMITS.max_bytes + 1), "too_large"),
    ],
)
def test_what_is_not_json_is_refused_with_its_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InputError) as refused:
        decode_json(body, LIMITS)
    assert refused.value.reason == reason


def test_a_lone_surrogate_in_a_string_is_read_as_the_standard_library_reads_it() -> None:
    assert decode_json('{"id": "\\ud800"}', LIMITS) == {"id": "\ud800"}
    assert decode_json('{"id": "\ud800"}', LIMITS) == {"id": "\ud800"}  # a str holding one


# --- YAML ---

YAML_LIMITS = Limits(max_bytes=1 << 20, max_depth=16, max_nodes=1000)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_yaml_within_bounds_reads_as_pyyaml_reads_it(value: Any) -> None:
    text = yaml.safe_dump(value)
    expected = yaml.safe_load(text)
    if depth(value) < YAML_LIMITS.max_depth and all(
        len(str(v)) <= 40 for v in _scalars(expected) if isinstance(v, int) and not isinstance(v, bool)
    ):
        assert load_yaml(text, YAML_LIMITS) == expected


def _scalars(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [s for v in value for s in _scalars(v)]
    if isinstance(value, dict):
        return [s for kv in value.items() for v in kv for s in _scalars(v)]
    return [value]


def billion_laughs(levels: int) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines)


@pytest.mark.parametrize("levels", [3, 7, 9])
def test_an_alias_expansion_past_the_bound_is_refused_before_anything_walks_it(levels: int) -> None:
    text = billion_laughs(levels)
    if 10**levels < YAML_LIMITS.max_nodes:
        assert len(load_yaml(text, YAML_LIMITS)[f"a{levels - 1}"]) == 10
        return
    with pytest.raises(InputError, match="once its aliases are expanded") as refused:
        load_yaml(text, YAML_LIMITS)
    assert refused.value.reason == "over_limit" and len(str(refused.value)) < 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]", "refers to the node that holds it"),
        ("a: " + "[" * 5000 + "]" * 5000, "nested more than 16 levels"),
        ("version: " + "9" * 100_000, "an integer of 100,000 characters"),
        ("d: " + ":".join(["59"] * 1000), "an integer of"),  # YAML 1.1 sexagesimal, multiplied per part
        ("a: 1\na: 2", "duplicate key 'a'"),
        ("a: [1, 2", "line 1"),
        ("a: !!python/object:os.system ls", "could not determine a constructor"),
    ],
)
def test_hostile_yaml_is_refused_with_a_line_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_yaml(text, YAML_LIMITS)


def test_yaml_safe_values_and_anchors_within_bounds_still_read() -> None:
    text = "base: &cols [{name: a}, {name: b}]\nmodels: [{features: *cols}, {features: *cols}]\nsize: 0x1f\nage: 1:30"
    value = load_yaml(text, YAML_LIMITS)
    assert value["models"][1]["features"] == [{"name": "a"}, {"name": "b"}] and value["size"] == 31
    assert value["age"] == 90


# --- files and shown values ---


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO") as refused:
        open_regular(fifo)
    assert refused.value.reason == "not_a_file"
    with pytest.raises(InputError, match="is a folder"):
        open_regular(tmp_path)


def test_a_whole_read_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1001)
    assert read_regular(path, 1001) == b"x" * 1001
    with pytest.raises(InputError, match="larger than") as refused:
        read_regular(path, 1000)
    assert refused.value.reason == "too_large"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "'plain'"),
        ("\x1b[31mred\x00", "'\\x1b[31mred\\x00'"),
        (b"\x00\xffabc", "b'\\x00\\xffabc'"),
        (10**5000, "<an integer of about 5,001 digits>"),
    ],
    ids=["text", "escapes", "bytes", "huge-integer"],
)
def test_shown_values_are_short_and_printable(value: Any, expected: str) -> None:
    assert shown(value) == expected


def test_shown_cuts_long_and_deep_values() -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    assert shown(deep) == "[[[[...]]]]"
    assert len(shown("x" * 10**6)) <= 50 and len(shown(list(range(10**5)))) <= 50


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_depth_read_from_text_in_chunks_is_the_depth_of_the_value(value: Any) -> None:
    """The depth check reads the text a chunk at a time (strings and brackets split across chunks): with 7-byte
    chunks it still finds exactly the nesting the parsed value has (or defers to walking it)."""
    import drift.boundary.documents as documents

    text = json.dumps(value).encode()
    chunk, documents.TEXT_CHUNK = documents.TEXT_CHUNK, 7
    try:
        found = documents._text_depth(text)
    finally:
        documents.TEXT_CHUNK = chunk
    assert found is None or found == depth(value)
