"""The metric catalogue: every Prometheus metric driftline exports, defined once.

The exporter's collector and instruments, the webhook's, the generated rules, promtool tests and dashboards, and
``docs/metrics.md`` all read names, types, labels and help from here; a test fails when the exporter serves a
metric that is not in the catalogue or a rule or dashboard queries one that is not.

Names follow Prometheus' conventions: the base unit in the name (``_seconds``), ``_total`` on counters (added by
the client library; :attr:`Metric.series` is the name PromQL reads), ``_info`` on info metrics. ``model`` and
``model_namespace`` name the InferenceService (``namespace`` is avoided: Kubernetes service discovery attaches its
own).
"""

from .definition import *  # noqa: F403
from .definition import CATALOGUE, Metric
from .exporter import *  # noqa: F403
from .http import *  # noqa: F403
from .operation import *  # noqa: F403


def by_series() -> dict[str, Metric]:
    """Every sample name any catalogued metric exports (``_total``, ``_bucket``, …) → its metric."""
    return {sample: metric for metric in CATALOGUE for sample in metric.samples}
