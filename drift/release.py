"""Which driftline release this is: the installed distribution's version, the one answer that ``driftline
--version``, ``driftline_build_info`` and the image label all give."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("driftline")
except PackageNotFoundError:  # a source tree that was never installed
    VERSION = "0+unknown"

__all__ = ["VERSION"]
