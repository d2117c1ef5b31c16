"""The ``driftline`` command line: a thin layer over drift, exporters, dashboards and alerts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("driftline")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
