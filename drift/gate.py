"""The data gate: is this data fit to train on? A CSV or Parquet file judged against a model's reference profile, with
a machine-readable verdict and an exit code a pipeline or CI can act on.

Four checks, each a reason to stop a training run on its own:

* ``schema`` — the file has every configured feature (a missing output is left out of the drift check, not failed);
* ``rows`` — the file holds at least the model's ``window.min_rows`` rows: below it nothing is decided, exactly as
  the exporter decides nothing on a window that small;
* ``data_quality`` — per feature, the share of values missing or unreadable, outside the reference's range
  (``drift.range_margin``) or of categories the reference never had (:mod:`drift.data_quality`) is at most a limit;
* ``drift`` — driftline's dataset decision (:func:`drift.evaluation.evaluate_counts`: PSI, the per-column test with
  the model's correction, ``drift.drift_share``) — the one the exporter serves and the retraining alert fires on.

The whole file is read, streamed in batches (memory is one batch and the count vectors, whatever its size): each
batch's cells are coded once (:meth:`drift.layout.Layout.codes`) and counted into the feature count vector and the
data-quality table. Multivariate drift and CBPE need raw rows and are not part of the gate.

A check can be left unenforced (``GateRules.enforce``): it is still computed and reported, it just does not fail
the verdict. The exit code is that of the most fundamental failed check (``schema`` > ``rows`` > ``data_quality`` >
``drift``); the JSON lists every one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import ModelConfig, S3Config
from .data_quality import MISSING, OUT_OF_RANGE, UNSEEN
from .errors import MissingColumnsError
from .evaluation import DriftResult
from .file_counts import FileCounts, count_file
from .layout import Layout
from .reference.profile import ReferenceProfile

SCHEMA, ROWS, DATA_QUALITY, DRIFT = "schema", "rows", "data_quality", "drift"
CHECKS = (SCHEMA, ROWS, DATA_QUALITY, DRIFT)  # most fundamental first: the exit code is the first failed one's
EXIT_PASSED, EXIT_ERROR = 0, 1  # 1: the gate could not run (config, profile or file unreadable): one line on stderr
EXIT_CODES = {DRIFT: 2, DATA_QUALITY: 3, SCHEMA: 4, ROWS: 5}
QUALITY_LIMITED = {"missing": MISSING, "out_of_range": OUT_OF_RANGE, "unseen_category": UNSEEN}


@dataclass(frozen=True)
class GateRules:
    """What fails the gate. ``limits``: per data quality (``missing``, ``out_of_range``, ``unseen_category``), the
    largest share of a feature's values allowed; ``enforce``: the checks whose failure fails the verdict."""

    limits: Mapping[str, float] = field(
        default_factory=lambda: {"missing": 0.01, "out_of_range": 0.01, "unseen_category": 0.01}
    )
    enforce: frozenset[str] = frozenset(CHECKS)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    enforced: bool
    detail: Mapping[str, Any]

    @property
    def fails(self) -> bool:
        return self.enforced and not self.passed

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "enforced": self.enforced, **self.detail}


@dataclass(frozen=True)
class GateVerdict:
    """The gate's answer: every check, whether the data passes, and the exit code that says so."""

    model: str
    namespace: str
    data: str
    profile_version: str
    rows: int
    checks: tuple[Check, ...]
    result: DriftResult | None  # None when the schema check failed: a file without a feature is not evaluated

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if c.fails)

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.failed[0]] if self.failed else EXIT_PASSED

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain, strict-JSON values (a statistic without a finite value is null)."""
        plain: dict[str, Any] = _finite(
            {
                "model": self.model,
                "namespace": self.namespace,
                "data": self.data,
                "profile_version": self.profile_version,
                "rows": self.rows,
                "passed": self.passed,
                "exit_code": self.exit_code,
                "failed": list(self.failed),
                "checks": {c.name: c.to_dict() for c in self.checks},
                "result": self.result.to_dict() if self.result is not None else None,
            }
        )
        return plain

    def summary(self) -> str:
        """One line for a person: the outcome and what failed."""
        what = f"{self.namespace}/{self.model}: {self.data} ({self.rows:,} rows) against profile {self.profile_version}"
        if self.passed:
            return f"passed: {what}"
        reasons = "; ".join(_reason(c) for c in self.checks if c.fails)
        return f"failed ({', '.join(self.failed)}): {what}: {reasons}"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _reason(check: Check) -> str:
    detail = check.detail
    if check.name == SCHEMA:
        return f"missing column(s) {', '.join(detail['missing_columns'])}"
    if check.name == ROWS:
        return f"{detail['rows']:,} rows, a decision needs {detail['min_rows']:,}"
    if check.name == DATA_QUALITY:
        worst = detail["violations"][:3]
        return ", ".join(f"{v['column']} {v['quality']} {v['share']:.1%} > {v['limit']:.1%}" for v in worst)
    drifted = detail["drifted_features"]
    return f"dataset drift (share {detail['drift_share']:.0%} ≥ {detail['threshold']:.0%}: {', '.join(drifted)})"


def gate(
    profile: ReferenceProfile,
    model: ModelConfig,
    data: str,
    rules: GateRules,
    *,
    fmt: str = "auto",
    s3: S3Config | None = None,
) -> GateVerdict:
    """Judge the file ``data`` (CSV or Parquet, local or ``s3://``) against ``profile``. Raises DataError or
    StorageError when the file cannot be read at all; a missing feature is the schema check's failure, not an error.
    """
    profile.require_compatible(model)
    try:
        tally = count_file(profile, model, data, fmt=fmt, s3=s3)
    except MissingColumnsError as exc:
        check = Check(SCHEMA, False, SCHEMA in rules.enforce, {"missing_columns": exc.columns})
        return GateVerdict(model.name, model.namespace, data, profile.version, 0, (check,), None)
    min_rows = model.window.min_rows
    result = tally.evaluate(profile, model)
    enforced = rules.enforce
    checks = (
        Check(SCHEMA, True, SCHEMA in enforced, {"missing_columns": []}),
        Check(ROWS, tally.rows >= min_rows, ROWS in enforced, {"rows": tally.rows, "min_rows": min_rows}),
        _quality_check(tally.layout, tally, rules),
        _drift_check(result, model, DRIFT in enforced),
    )
    return GateVerdict(model.name, model.namespace, data, profile.version, tally.rows, checks, result)


def _quality_check(layout: Layout, tally: FileCounts, rules: GateRules) -> Check:
    rows = max(tally.rows, 1)
    shares = {
        column.name: {quality: int(tally.quality[j, slot]) / rows for quality, slot in QUALITY_LIMITED.items()}
        for j, column in enumerate(layout.columns)
    }
    over = [
        (share - rules.limits[quality], name, quality, share)
        for name, found in shares.items()
        for quality, share in found.items()
        if quality in rules.limits and share > rules.limits[quality]
    ]
    violations = [
        {"column": name, "quality": quality, "share": share, "limit": rules.limits[quality]}
        for _, name, quality, share in sorted(over, reverse=True)
    ]
    detail = {"limits": dict(rules.limits), "violations": violations, "columns": shares}
    return Check(DATA_QUALITY, not violations, DATA_QUALITY in rules.enforce, detail)


def _drift_check(result: DriftResult, model: ModelConfig, enforced: bool) -> Check:
    detail = {
        "decided": result.decided,
        "not_decided": result.not_decided,
        "drift_share": result.drift_share,
        "threshold": model.drift.drift_share,
        "drifted_features": list(result.drifted_features),
        "drifted_outputs": [name for name, column in result.outputs.items() if column.drifted],
    }
    return Check(DRIFT, not result.drifted, enforced, detail)


__all__ = ["CHECKS", "EXIT_CODES", "EXIT_ERROR", "EXIT_PASSED", "Check", "GateRules", "GateVerdict", "gate"]
