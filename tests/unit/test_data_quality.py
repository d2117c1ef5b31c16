"""Data quality per feature: every value's quality against hand-computed counts, the payload errors the parser finds
per column, and the window's counters (what /metrics publishes)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import drift
from drift.config import ColumnConfig, DriftSettings
from drift.data_quality import VALUE_QUALITIES, QualityBounds, quality_counts
from drift.errors import ProfileError
from drift.layout import layouts
from drift.reference.columns import CategoricalProfile
from exporters.payloads import Columns, parse_request
from exporters.windows import CountWindow
from tests.support import model_config

COLUMNS = (ColumnConfig("x", "numeric"), ColumnConfig("plan", "categorical"), ColumnConfig("city", "categorical"))
NAN = float("nan")


@pytest.fixture(scope="module")
def profile() -> drift.ReferenceProfile:
    """x runs from 0 to 100; plan has three categories; city has 60: the profile keeps 50 (city-0 … city-53 by name,
    all equally frequent) and lists the 10 rare ones."""
    model = replace(model_config(), features=COLUMNS, outputs=(), drift=DriftSettings(max_categories=50))
    rows = 6000
    frame = pd.DataFrame(
        {
            "x": np.linspace(0.0, 100.0, rows),
            "plan": np.array(["basic", "plus", "pro"])[np.arange(rows) % 3],
            "city": [f"city-{i % 60}" for i in range(rows)],
        }
    )
    return drift.build_profile(frame, model)


def counts(profile: drift.ReferenceProfile, margin: float, x: list[float], plan: list, city: list) -> dict:  # type: ignore[type-arg]
    layout = layouts(profile)[0]
    numeric = np.array(x, dtype=np.float64).reshape(-1, 1)
    categorical = np.array([plan, city], dtype=object).T
    bounds = QualityBounds.of(layout, margin)
    table = quality_counts(layout, bounds, numeric, categorical, layout.codes(numeric, categorical))
    return {
        c.name: dict(zip(VALUE_QUALITIES, row.tolist(), strict=True))
        for c, row in zip(layout.columns, table, strict=True)
    }


def test_each_value_has_one_quality_as_counted_by_hand(profile: drift.ReferenceProfile) -> None:
    x = [-1.0, 0.0, 50.0, 100.0, 100.5, NAN, 200.0, -15.0]
    plan = ["basic", "gold", None, "", "pro", "platinum", "plus", "basic"]
    city = ["city-1", "atlantis", "city-59", None, "city-3", "city-4", "gotham", "city-5"]
    found = counts(profile, 0.0, x, plan, city)
    # x: −1, 100.5, 200 and −15 lie outside [0, 100]; NaN is missing
    assert found["x"] == {"valid": 3, "missing": 1, "out_of_range": 4, "unseen_category": 0}
    # plan: "gold" and "platinum" were never seen; None and "" are missing
    assert found["plan"] == {"valid": 4, "missing": 2, "out_of_range": 0, "unseen_category": 2}
    # city: "city-59" is one of the reference's rare cities (in __other__, listed): valid; "atlantis", "gotham" unseen
    assert found["city"] == {"valid": 5, "missing": 1, "out_of_range": 0, "unseen_category": 2}
    cities = profile.features["city"]
    assert isinstance(cities, CategoricalProfile)
    assert cities.rare == ("city-54", "city-55", "city-56", "city-57", "city-58", "city-59",
                                            "city-6", "city-7", "city-8", "city-9")  # fmt: skip
    # a profile that does not list its rare categories (built before they were listed): a new city and a rare one
    # look alike, and neither is called unseen
    city_unlisted = replace(cities, rare=None)
    older = replace(profile, features={**profile.features, "city": city_unlisted}, version="")
    assert counts(older, 0.0, x, plan, city)["city"] == {
        "valid": 7,
        "missing": 1,
        "out_of_range": 0,
        "unseen_category": 0,
    }


def test_the_margin_widens_the_range_by_a_share_of_its_width(profile: drift.ReferenceProfile) -> None:
    x = [-1.0, -10.0, -10.5, 110.0, 110.01, 150.0]
    found = counts(profile, 0.1, x, ["basic"] * 6, ["city-1"] * 6)
    assert found["x"]["out_of_range"] == 3  # [0 − 0.1·100, 100 + 0.1·100] = [−10, 110]


def test_the_parser_counts_type_errors_and_absent_columns_per_column() -> None:
    columns = Columns((ColumnConfig("x", "numeric"), ColumnConfig("plan", "categorical"), ColumnConfig("y", "numeric")))
    rows = parse_request(
        {
            "instances": [
                {"x": 1.5, "plan": "basic", "y": 2},
                {"x": "abc", "plan": {"a": 1}, "y": None},  # two type errors; an explicit null is missing, no error
                {"x": "2.5", "plan": "pro"},  # a number as a string is read; y absent
                {"x": True, "plan": ["a"], "y": 3},  # a boolean is no number, a list no category
            ]
        },
        columns,
    )
    assert rows.payload_errors is not None
    assert rows.payload_errors.tolist() == [[2, 0], [2, 0], [0, 1]]  # [type, absent] for x, plan, y
    assert rows.columns(columns)["x"][2] == 2.5
    v2 = parse_request(
        {"inputs": [{"name": "x", "shape": [3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]},
                    {"name": "plan", "shape": [3], "datatype": "BYTES", "data": ["a", "b", "c"]}]},
        columns,
    )  # fmt: skip
    assert v2.payload_errors is not None and v2.payload_errors.tolist() == [[0, 0], [0, 0], [0, 3]]
    clean = parse_request({"instances": [{"x": 1.0, "plan": "a", "y": 2.0}]}, columns)
    assert clean.payload_errors is None


def test_the_window_counts_quality_once_per_value_and_payload_errors_across_profiles(
    profile: drift.ReferenceProfile,
) -> None:
    window = CountWindow(COLUMNS, 1000, 3600.0, margin=0.0)
    assert window.quality() is None, "no profile: nothing to count against"
    window.append_block(None, None, 0, 0.0)
    errors = np.array([[1, 0], [0, 2], [0, 0]])
    numeric = np.array([[5.0], [250.0], [NAN]])
    categorical = np.array([["plus", "city-1"], ["diamond", "city-2"], [None, "city-3"]], dtype=object)
    window.append_block(numeric, categorical, 3, 10.0, errors)
    window.set_layout(layouts(profile)[0], profile.version)
    window.append_block(numeric, categorical, 3, 11.0, errors)
    counted = window.quality()
    assert counted is not None
    quality, payload = counted
    # both blocks: the first waited for the profile and was counted when it loaded
    assert quality[0].tolist() == [2, 2, 2, 0]  # x: 5 valid, 250 out of range, NaN missing (twice each)
    assert quality[1].tolist() == [2, 2, 0, 2]  # plan: "diamond" unseen, None missing
    assert quality[2].tolist() == [6, 0, 0, 0]
    assert payload.tolist() == (errors * 2).tolist()
    other = replace(profile, version="another")
    window.set_layout(layouts(other)[0], other.version)
    quality, payload = window.quality()  # type: ignore[misc]
    assert not quality.any(), "the values are counted against the new profile from its start"
    assert payload.tolist() == (errors * 2).tolist(), "payload errors do not depend on the profile"
    outputs = CountWindow(COLUMNS, 1000, 3600.0)  # no margin: an output window, whose quality is not counted
    outputs.set_layout(layouts(profile)[0], profile.version)
    outputs.append_block(numeric, categorical, 3, 11.0)
    assert outputs.quality() is None


def test_the_profile_lists_rare_categories_and_refuses_a_broken_list(profile: drift.ReferenceProfile) -> None:
    again = drift.ReferenceProfile.from_json(profile.to_json())
    assert again.version == profile.version
    assert again.features["city"].rare == profile.features["city"].rare  # type: ignore[union-attr]
    columns = {c["name"]: c for c in profile.to_dict()["features"]}
    assert "rare" not in columns["plan"], "no rare category: nothing listed, the column's profile is as before"
    broken = profile.to_dict()
    broken["features"][2]["rare"].append("city-1")  # a kept category listed as rare
    with pytest.raises(ProfileError, match="corrupt profile"):
        drift.ReferenceProfile.from_dict(broken)
