"""Bounded JSON: orjson first (strict and fast), the standard library for what orjson refuses but clients send
(NaN, Infinity, integers beyond float range), and the same bounds on both paths."""

from __future__ import annotations

import json
from itertools import chain, compress
from typing import Any

import numpy as np
import orjson

from .limits import BAD_JSON, BINARY, OVER_LIMIT, TOO_LARGE, InputError, Limits, size_text

# A JSON integer of more digits is refused before it is converted (no float holds more than 309 digits anyway).
MAX_NUMBER_DIGITS = 400
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1
_CONTAINER = frozenset((list, dict)).__contains__
_IS_DICT = frozenset((dict,)).__contains__
_IS_LIST = frozenset((list,)).__contains__

Text = bytes | bytearray | memoryview | str


def decode_json(data: Text, limits: Limits, what: str = "the body") -> Any:
    """The JSON value of ``data``. Raises InputError: ``too_large`` (over ``limits.max_bytes``), ``bad_json``,
    ``binary_payload`` (not UTF-8 text, or JSON followed by binary data) or ``over_limit`` (nested deeper than
    ``limits.max_depth``, or a number beyond what a float holds).

    Integers within 64 bits are ints; beyond, floats — on both parsing paths, so a document reads the same whether
    or not it also holds a NaN. Cost: linear in the input; the depth is checked only when the text has more
    opening brackets than the limit, from the text (a few C passes), or by walking the parsed value when a string
    holds an escaped quote."""
    if len(data) > limits.max_bytes:
        raise InputError(TOO_LARGE, f"{what} is {len(data):,} bytes; the limit is {size_text(limits.max_bytes)}")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = _lenient(data, what)
    kind = type(document)
    if (kind is not dict and kind is not list) or len(data) <= 2 * limits.max_depth:  # each level takes 2 bytes
        return document
    opens = data.count(b"[") + data.count(b"{") if type(data) is bytes else _opening_brackets(data)
    if opens > limits.max_depth:
        deepest = _text_depth(data)
        if deepest is None:  # the text has escaped quotes: walk the parsed value instead
            _check_depth(document, limits.max_depth, what)
        elif deepest > limits.max_depth:
            raise InputError(OVER_LIMIT, f"{what} is nested more than {limits.max_depth} levels deep")
    return document


def _lenient(data: Text, what: str) -> Any:
    """What the standard library reads of text orjson refused, with orjson's integers."""
    text = bytes(data) if isinstance(data, memoryview) else data
    head = text[:64].lstrip()
    if not head:
        raise InputError(BAD_JSON, f"{what} is empty")
    if isinstance(head, bytes | bytearray) and any(b < 9 or 13 < b < 32 for b in head):
        raise InputError(BINARY, f"{what} is binary, not JSON text")
    try:
        return json.loads(text, parse_int=_integer)
    except _RefusedError as exc:
        raise InputError(OVER_LIMIT, f"{what} holds {exc}") from None
    except UnicodeDecodeError:
        raise InputError(BINARY, f"{what} is not UTF-8 JSON text") from None
    except RecursionError:
        raise InputError(OVER_LIMIT, f"{what} is nested too deeply") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and head[:1] in (b"{", b"[", "{", "["):
            raise InputError(BINARY, f"{what} is JSON followed by binary data") from None
        raise InputError(BAD_JSON, f"{what} is not JSON ({exc})") from None
    except ValueError as exc:  # the standard library's own limit on integer digits, should ours ever be higher
        raise InputError(OVER_LIMIT, f"{what} holds {str(exc).split(';')[0]}") from None


class _RefusedError(ValueError):
    pass


def _integer(token: str) -> int | float:
    """A JSON integer as orjson reads it: an int within 64 bits, a float beyond; refused beyond float range."""
    digits = len(token) - (token[0] == "-")
    if digits > MAX_NUMBER_DIGITS:
        raise _RefusedError(f"an integer of {digits:,} digits (at most {MAX_NUMBER_DIGITS})")
    value = int(token)
    if _INT64_MIN <= value <= _UINT64_MAX:
        return value
    as_float = float(token)
    if as_float in (float("inf"), float("-inf")):
        raise _RefusedError(f"an integer of {digits:,} digits, beyond the range of a float")
    return as_float


def _opening_brackets(data: Text) -> int:
    """How many ``[`` and ``{`` the text holds (strings included): an upper bound on its depth, counted in C."""
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    view = data if isinstance(data, bytes | bytearray) else bytes(data)
    return view.count(b"[") + view.count(b"{")


# Brackets as +1 / -1 (int8), everything else deleted: the nesting is the largest running sum.
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _text_depth(data: Text) -> int | None:
    """The deepest nesting of JSON text read from its bytes: string contents cut out (between unescaped quotes), the
    brackets left summed as a running depth by numpy — a few C passes over the text, no Python per value, and none
    over more than TEXT_CHUNK bytes at once (a C call holds the interpreter: the event loop waits for it). None when a
    string holds an escaped quote (then the quotes do not pair up simply)."""
    if type(data) is bytes:
        raw = data
    else:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if b'\\"' in raw:
        return None
    deepest = depth = 0
    in_string = False
    for start in range(0, len(raw), TEXT_CHUNK):
        pieces = raw[start : start + TEXT_CHUNK].split(b'"')
        structure = b"".join(pieces[1::2] if in_string else pieces[::2])
        in_string ^= (len(pieces) - 1) % 2 == 1
        steps = np.frombuffer(structure.translate(_BRACKETS, _NOT_BRACKETS), dtype=np.int8)
        if steps.size:
            # int16 holds any depth here: the text parsed, so its brackets balance and nest at most ~1,000 deep
            running = steps.cumsum(dtype=np.int16)
            deepest = max(deepest, depth + int(running.max()))
            depth += int(running[-1])
    return deepest


TEXT_CHUNK = 1 << 20


def _check_depth(document: list[Any] | dict[str, Any], limit: int, what: str) -> None:
    """Refuse containers nested deeper than ``limit``: one level at a time, each level's children gathered and
    filtered by C-level iteration (no Python call per value, no recursion)."""
    level: list[Any] = [document]
    depth = 1
    while True:
        kinds = list(map(type, level))
        dicts = compress(level, map(_IS_DICT, kinds))
        lists = compress(level, map(_IS_LIST, kinds))
        children = list(chain(chain.from_iterable(lists), chain.from_iterable(map(dict.values, dicts))))
        level = list(compress(children, map(_CONTAINER, map(type, children))))
        if not level:
            return
        depth += 1
        if depth > limit:
            raise InputError(OVER_LIMIT, f"{what} is nested more than {limit} levels deep")
