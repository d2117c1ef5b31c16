"""The *Data quality* row of the model drift dashboard: per feature, the share of values outside the reference's
range, of unseen categories, and the payload errors — the shares the data-quality alerts fire on."""

from __future__ import annotations

from drift import catalogue as m

from .common import MODEL_SELECTOR, Layout, target, timeseries

VALUES = f'{MODEL_SELECTOR}, model_version=~"$model_version", feature=~"$feature"'
BY = "model_version, feature"


def _share(quality: str) -> str:
    values = m.FEATURE_VALUES.series
    return (
        f'sum by ({BY}) (rate({values}{{{VALUES}, quality="{quality}"}}[$__rate_interval])) / '
        f"sum by ({BY}) (rate({values}{{{VALUES}}}[$__rate_interval]))"
    )


def add_data_quality_row(layout: Layout) -> None:
    layout.row("Data quality")
    layout.add(
        timeseries(
            "Out of range",
            "Share of each numeric feature's values outside the reference's [min, max] (widened by "
            "drift.range_margin): DriftlineFeatureOutOfRange fires above its threshold.",
            [target(_share("out_of_range"), "{{feature}} {{model_version}}")],
            "percentunit",
        ),
        8,
        8,
    )
    layout.add(
        timeseries(
            "Unseen categories",
            "Share of each categorical feature's values that the reference data does not have (features whose "
            "reference has at most drift.max_categories categories): DriftlineUnseenCategories.",
            [target(_share("unseen_category"), "{{feature}} {{model_version}}")],
            "percentunit",
        ),
        8,
        8,
    )
    errors = m.FEATURE_PAYLOAD_ERRORS.series
    layout.add(
        timeseries(
            "Payload errors",
            "Values per second that could not be read, by feature and kind: type (a string where a number is "
            "expected, an object) or absent (the payload lacks the column): DriftlineFeaturePayloadErrors.",
            [
                target(
                    f"sum by (feature, error) (rate({errors}{{{VALUES}}}[$__rate_interval]))", "{{feature}} {{error}}"
                )
            ],
            "short",
        ),
        8,
        8,
    )
