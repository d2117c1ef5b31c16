"""What a statistic declares about itself, and the list every consumer iterates.

The evaluation computes every registered statistic for every column it applies to; the exporter publishes each
output that has ``help`` as ``driftline_feature_<output>`` (declared in :mod:`drift.catalogue` from this list); the
*Model drift* dashboard draws the statistics that declare a :class:`Panel`; docs/statistics.md and docs/metrics.md
list them. See docs/development.md, "A new statistic".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..stats import FloatArray
from .window import BinnedWindow

NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOTH = frozenset((NUMERIC, CATEGORICAL))


@dataclass(frozen=True)
class Output:
    """One number a statistic gives per column. With ``help`` it is published as ``driftline_feature_<name>``;
    without, it is in the result (``ColumnDrift.statistics``) only."""

    name: str
    help: str | None = None


@dataclass(frozen=True)
class Panel:
    """A time series of the statistic per feature on the *Model drift* dashboard."""

    title: str
    description: str
    unit: str = "none"
    max_value: int | None = None


@dataclass(frozen=True)
class Statistic:
    """A drift statistic over a window's bin counts against the reference's.

    ``compute`` returns one array per output, one value per column of the window's layout (NaN where it has no
    value); it is called for every column, and the values of columns whose kind is not in ``applies_to`` are
    dropped. ``order`` places it among the others (metrics, panels, docs)."""

    name: str
    title: str
    order: int
    applies_to: frozenset[str]
    outputs: tuple[Output, ...]
    compute: Callable[[BinnedWindow], Mapping[str, FloatArray]]
    formula: str  # Markdown, for docs/statistics.md
    reference: str
    panel: Panel | None = None

    @property
    def published(self) -> tuple[Output, ...]:
        return tuple(output for output in self.outputs if output.help is not None)


_REGISTERED: dict[str, Statistic] = {}


def register(statistic: Statistic) -> Statistic:
    """Add a statistic (at import of its module). Names of statistics and outputs are unique."""
    names = {o.name for s in _REGISTERED.values() for o in s.outputs}
    if statistic.name in _REGISTERED or names & {o.name for o in statistic.outputs}:
        raise ValueError(f"statistic {statistic.name!r} is registered twice or reuses an output name")
    _REGISTERED[statistic.name] = statistic
    return statistic


def registered() -> tuple[Statistic, ...]:
    return tuple(sorted(_REGISTERED.values(), key=lambda s: s.order))
