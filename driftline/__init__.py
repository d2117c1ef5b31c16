"""The ``driftline`` command line: a thin layer over drift, exporters, dashboards and alerts."""

from drift import release

__version__ = release.VERSION

__all__ = ["__version__"]
