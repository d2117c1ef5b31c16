"""The untrusted boundary: every byte driftline did not write in this process is decoded here, with explicit bounds.

Anyone who can call a model can send the exporter anything (KServe's logger forwards each request body as the
model's client sent it), and S3 log objects, label files, checkpoints, profiles and configs come from the same
outside. Each is decoded by one of these functions, each with a :class:`Limits`:

* :func:`decode_json` — JSON text (bytes or str): at most ``max_bytes``, nested at most ``max_depth`` deep; integers
  beyond 64 bits become floats (as orjson makes them), beyond float range or longer than
  :data:`MAX_NUMBER_DIGITS` digits they are refused; NaN and Infinity are read;
* :func:`load_yaml` — YAML (safe tags only, duplicate keys refused): bytes, depth, and the size of the document once
  its aliases are expanded (a "billion laughs" file is refused before anything walks it); integers of more than
  :data:`MAX_YAML_INTEGER_CHARS` characters are refused;
* :func:`open_regular` / :func:`read_regular` — a local file that must be a regular file (a FIFO or a device would
  block the reader for ever) and, for a whole read, at most ``max_bytes``;
* :func:`shown` — any outside value as it may appear in a message or a log line: cut to a few dozen characters,
  non-printable characters escaped, never a recursion or a huge integer's conversion.

Whatever a decoder refuses raises :class:`InputError`, and nothing else escapes for bad input: each caller turns it
into its own answer (a 4xx with a reason and a counted reject, a quarantined object, a one-line CLI error). The
worst case of each decoder is linear in its input (the depth check is one C-level pass per nesting level).
"""

from __future__ import annotations

from .documents import MAX_NUMBER_DIGITS, decode_json
from .files import open_regular, read_regular
from .limits import InputError, Limits, shown
from .yamldoc import MAX_YAML_INTEGER_CHARS, load_yaml

__all__ = [
    "MAX_NUMBER_DIGITS",
    "MAX_YAML_INTEGER_CHARS",
    "InputError",
    "Limits",
    "decode_json",
    "load_yaml",
    "open_regular",
    "read_regular",
    "shown",
]
