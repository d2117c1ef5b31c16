"""The bounds of one kind of outside input, the one error every decoder raises, and how outside values are shown."""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import Any

from ..errors import DriftlineError

# The reasons an InputError carries (metric label values where a caller counts them):
TOO_LARGE = "too_large"  # more bytes than the limit
OVER_LIMIT = "over_limit"  # nested too deeply, a number out of range, a YAML that expands too far
BAD_JSON = "bad_json"  # not JSON (or not UTF-8 text where text is needed)
BINARY = "binary_payload"  # binary data where text was expected
BAD_YAML = "bad_yaml"
NOT_A_FILE = "not_a_file"  # a FIFO, a device or a folder where a regular file is needed


class InputError(DriftlineError):
    """Outside input that a decoder of :mod:`drift.boundary` refused. ``reason`` is one of the short labels above;
    the message names what was refused and the limit, with any value in it :func:`shown`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """How much of one kind of input is read: ``max_bytes`` of it, containers nested at most ``max_depth`` deep,
    and (YAML) at most ``max_nodes`` values once aliases are expanded."""

    max_bytes: int
    max_depth: int = 64
    max_nodes: int = 100_000

    def with_bytes(self, max_bytes: int) -> Limits:
        return Limits(max_bytes, self.max_depth, self.max_nodes)


def size_text(n: int) -> str:
    """A byte count for a message: ``10 MiB``, ``64 KiB``, ``512 bytes``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << (shift - 4)) == 0:
            value = n / (1 << shift)
            return f"{value:g} {unit}"
    return f"{n:,} bytes"


class _Shown(reprlib.Repr):
    """reprlib's bounded repr (levels, items, characters), with integers that never convert in full."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            digits = math.floor(x.bit_length() * math.log10(2)) + 1
            return f"<an integer of about {digits:,} digits>"
        return super().repr_int(x, level)


def shown(value: Any, width: int = 40) -> str:
    """``value`` as a message may show it: its repr with non-printable characters escaped, nested structures cut
    at three levels and the whole cut to about ``width`` characters (``…`` marks a cut)."""
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value[: width * 4])
    short = _Shown()
    short.maxlevel = 3
    short.maxstring = short.maxother = short.maxlong = width
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 6
    try:
        text = short.repr(value)
    except Exception:  # a hostile __repr__ (a library object): say what it is, not what it holds
        text = f"<{type(value).__name__}>"
    text = text.encode("ascii", "backslashreplace").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= width + 10 else text[:width] + "…"
