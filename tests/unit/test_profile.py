"""Reference profiles: their content follows docs/operations.md (Reference profiles), they round-trip through JSON,
and they refuse corruption."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import drift
from drift.reference.columns import CategoricalProfile, NumericProfile
from tests.support import churn_frame, model_config, write_config_dict


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    frame = churn_frame(30_000, seed=1)
    frame.loc[::50, "tenure"] = np.nan
    frame.loc[::70, "contract"] = None
    return frame


def test_numeric_column_profile_follows_design(reference: pd.DataFrame) -> None:
    model = write_config_dict().models[0]
    profile = drift.build_profile(reference, model)
    tenure = profile.features["tenure"]
    assert isinstance(tenure, NumericProfile)
    values = reference["tenure"].dropna().to_numpy()
    expected_edges = np.unique(np.quantile(values, np.linspace(0, 1, 11)[1:-1]))
    np.testing.assert_allclose(tenure.edges, expected_edges, rtol=1e-14)
    assert (
        tenure.counts.tolist()
        == np.bincount(np.searchsorted(tenure.edges, values, side="right"), minlength=tenure.edges.size + 1).tolist()
    )
    assert (tenure.count, tenure.missing) == (values.size, 600)
    assert tenure.mean == pytest.approx(values.mean()) and tenure.std == pytest.approx(values.std())
    assert (tenure.min, tenure.max) == (values.min(), values.max())
    # the fine bins: 250 reference quantiles, the PSI edges among them, counted over the whole column
    expected_fine = np.unique(np.quantile(values, np.linspace(0, 1, 251)[1:-1]))
    np.testing.assert_allclose(tenure.fine_edges, expected_fine, rtol=1e-14)
    assert np.isin(tenure.edges, tenure.fine_edges).all()
    assert (
        tenure.fine_counts.tolist()
        == np.bincount(
            np.searchsorted(tenure.fine_edges, values, side="right"), minlength=tenure.fine_edges.size + 1
        ).tolist()
    )
    assert np.add.reduceat(tenure.fine_counts, tenure.psi_starts).tolist() == tenure.counts.tolist()
    assert profile.rows == 30_000


@pytest.mark.parametrize("bins", [7, 10, 30])
def test_fine_bins_nest_the_psi_bins_for_any_bin_count(reference: pd.DataFrame, bins: int) -> None:
    profile = drift.build_profile(reference, model_config(bins=bins))
    charges = profile.features["monthly_charges"]
    assert isinstance(charges, NumericProfile)
    assert charges.fine_edges.size + 1 == bins * -(-250 // bins)  # the first multiple of bins ≥ 250
    assert np.add.reduceat(charges.fine_counts, charges.psi_starts).tolist() == charges.counts.tolist()


def test_the_bins_do_not_depend_on_the_order_of_the_rows() -> None:
    frame = churn_frame(50_000, seed=2)
    model = model_config()
    a = drift.build_profile(frame, model).features["monthly_charges"]
    b = drift.build_profile(frame.sample(frac=1.0, random_state=0).reset_index(drop=True), model)
    reordered = b.features["monthly_charges"]
    assert isinstance(a, NumericProfile) and isinstance(reordered, NumericProfile)
    assert np.array_equal(a.fine_edges, reordered.fine_edges) and np.array_equal(a.fine_counts, reordered.fine_counts)


def test_a_format_1_profile_still_serves_with_its_version_and_its_ks_sample() -> None:
    """Profiles written before the fine bins (format 1) load unchanged: same version, PSI from the full reference,
    KS against the stored sample quantised to fine bins."""
    path = Path(__file__).parents[1] / "fixtures" / "profiles" / "format-1.json"
    document = json.loads(path.read_text())
    profile = drift.ReferenceProfile.load(str(path))
    assert profile.version == document["version"] == "a6d8dbf1ab12745b"
    old = next(c for c in document["features"] if c["name"] == "tenure")
    tenure = profile.features["tenure"]
    assert isinstance(tenure, NumericProfile)
    assert tenure.counts.tolist() == old["counts"] and tenure.edges.tolist() == old["edges"]
    assert np.isin(tenure.edges, tenure.fine_edges).all() and tenure.fine_counts.sum() == len(old["sample"])
    window = churn_frame(2000, seed=43)
    result = drift.evaluate(profile, window, model_config())
    assert not result.drifted and result.features["tenure"].ks_pvalue is not None
    document["features"][0]["counts"][0] += 1
    path2 = Path(str(path) + ".tampered")
    try:
        path2.write_text(json.dumps(document))
        with pytest.raises(drift.ProfileError, match="does not match its version"):
            drift.ReferenceProfile.load(str(path2))
    finally:
        path2.unlink()


def test_categorical_profile_keeps_the_top_categories_and_an_other_bin() -> None:
    rng = np.random.default_rng(3)
    common = [f"c{i:02d}" for i in range(60)]
    weights = np.linspace(2.0, 1.0, 60)
    values = rng.choice(common, 20_000, p=weights / weights.sum()).astype(object)
    values[:5] = None
    frame = churn_frame(20_000)
    frame["contract"] = values
    cfg = write_config_dict(drift_settings={"max_categories": 50})
    contract = drift.build_profile(frame, cfg.models[0]).features["contract"]
    assert isinstance(contract, CategoricalProfile)
    counts = pd.Series(values[5:]).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert list(contract.categories) == [c for c, _ in ranked[:50]]
    assert contract.counts[:-1].tolist() == [n for _, n in ranked[:50]]
    assert contract.counts[-1] == sum(n for _, n in ranked[50:])  # __other__
    assert contract.missing == 5 and contract.count == 19_995
    # unseen categories fall into __other__, missing ones are not binned
    counts_window, missing = contract.window_counts(np.array(["c00", "never-seen", None, ""], dtype=object))
    assert counts_window[contract.categories.index("c00")] == 1 and counts_window[-1] == 1 and missing == 2


def test_categories_read_the_same_from_numbers_booleans_and_strings() -> None:
    from drift.coercion import category_values

    assert category_values([1, 1.0, 2.5, True, "x", "", None, float("nan"), np.int64(3)]).tolist() == [
        "1", "1", "2.5", "true", "x", None, None, None, "3",
    ]  # fmt: skip


def test_numeric_values_treat_invalid_entries_as_missing() -> None:
    from drift.coercion import numeric_values

    out = numeric_values(pd.Series([1, "2.5", "abc", None, float("inf"), True, -3.0], dtype=object))
    assert out[:2].tolist() == [1.0, 2.5] and out[-1] == -3.0
    assert np.isnan(out[2:6]).all()


def test_json_round_trip_is_exact(tmp_path: Path, reference: pd.DataFrame) -> None:
    profile = drift.build_profile(reference, model_config())
    path = tmp_path / "sub" / "profile.json"
    profile.save(str(path))
    loaded = drift.ReferenceProfile.load(str(path))
    assert loaded.version == profile.version and loaded.to_dict() == profile.to_dict()
    for name, column in profile.features.items():
        assert np.array_equal(loaded.features[name].counts, column.counts)
    assert not list(path.parent.glob(".*.tmp"))  # nothing half-written left behind


def test_version_ignores_where_and_when_but_not_what(reference: pd.DataFrame) -> None:
    model = model_config()
    a = drift.build_profile(reference, model, source={"uri": "a.csv"})
    b = drift.build_profile(reference, model, source={"uri": "s3://b/a.parquet", "etag": "x"})
    assert a.version == b.version
    changed = reference.copy()
    changed.loc[0, "monthly_charges"] += 1.0
    assert drift.build_profile(changed, model).version != a.version
    assert drift.build_profile(reference, model_config(bins=5)).version != a.version


def test_the_model_version_is_recorded_beside_the_content(tmp_path: Path, reference: pd.DataFrame) -> None:
    """A profile may say which serving version it belongs to; it is metadata like created_at (the content version
    stays), and a profile written before the field existed loads as belonging to no version."""
    model = model_config()
    plain = drift.build_profile(reference, model)
    versioned = drift.build_profile(reference, model, model_version="run-7")
    assert versioned.version == plain.version and versioned.model_version == "run-7"
    assert "model_version" not in plain.to_dict()
    versioned.save(str(tmp_path / "v.json"))
    assert drift.ReferenceProfile.load(str(tmp_path / "v.json")).model_version == "run-7"
    document = json.loads(versioned.to_json())
    document["model_version"] = "../../etc"
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(drift.ProfileError, match=re.escape("model_version '../../etc' is not a model version")):
        drift.ReferenceProfile.load(str(tmp_path / "bad.json"))
    assert drift.ReferenceProfile.from_json(plain.to_json()).model_version == ""


def test_a_tampered_profile_is_refused(tmp_path: Path, reference: pd.DataFrame) -> None:
    profile = drift.build_profile(reference, model_config())
    document = profile.to_dict()
    document["features"][0]["counts"][0] += 1
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(document))
    with pytest.raises(drift.ProfileError, match="does not match its version"):
        drift.ReferenceProfile.load(str(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"format": "something-else"}', "not a driftline reference profile"),
        ('{"format": "driftline.profile", "format_version": 99}', "profile format 99 is not 2"),
        ('{"format": "driftline.profile", "format_version": 2, "model": "m"}', "corrupt profile"),
        ('{"format": "driftline.profile", "format_version": 1, "model": "m"}', "does not match its version"),
    ],
)
def test_unreadable_profiles_say_what_to_do(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(content)
    with pytest.raises(drift.ProfileError, match=message) as info:
        drift.ReferenceProfile.load(str(path))
    assert "driftline profile" in str(info.value)


def test_missing_profile_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(drift.StorageError, match="no such file"):
        drift.ReferenceProfile.load(str(tmp_path / "absent.json"))


def test_profile_must_fit_the_model(reference: pd.DataFrame) -> None:
    profile = drift.build_profile(reference, model_config())
    model = model_config()
    renamed = replace(
        model,
        features=(*model.features, drift.ColumnConfig("age", "numeric")),
        outputs=(drift.ColumnConfig("churn_probability", "categorical"),),
    )
    assert profile.problems_with(renamed) == [
        "the profile has no feature 'age'",
        "output 'churn_probability' is categorical in the config, numeric in the profile",
    ]
    with pytest.raises(drift.ProfileError, match="rebuild it"):
        drift.evaluate(profile, reference, renamed)


def test_columns_without_values_are_an_error(reference: pd.DataFrame) -> None:
    broken = reference.copy()
    broken["tenure"] = "n/a"
    with pytest.raises(drift.DataError, match="column 'tenure' has no numeric values"):
        drift.build_profile(broken, model_config())
    with pytest.raises(drift.DataError, match="no column 'contract'"):
        drift.build_profile(reference.drop(columns=["contract"]), model_config())
