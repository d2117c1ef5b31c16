"""`driftline set-reference`, the promote step's command, on a copy of the example overlay's config: one line changes
(the model's reference.profile), every comment and the rest of the file stay as written, and a profile that does not
fit the model — or a model that is not there — is refused in one line with the file untouched."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import numpy as np
import pytest

import drift
from driftline.demo.data import customers
from tests.support import REPO, run_cli

pytestmark = pytest.mark.install

OVERLAY_CONFIG = REPO / "deploy" / "kubernetes" / "base" / "monitor.yaml"  # what overlays/example deploys


def _profile(tmp: Path, name: str, drop: str | None = None, model_version: str = "") -> Path:
    """A profile of the example model (or of one without the feature ``drop``) built from demo customers."""
    config = drift.load_config(OVERLAY_CONFIG)
    model = config.model("churn-model")
    if drop is not None:
        model = drift.parse_config(
            {
                "version": 1,
                "models": [
                    {
                        "name": "churn-model",
                        "reference": {"data": "x.csv", "profile": "x.json"},
                        "features": [{"name": c.name, "type": c.type} for c in model.features if c.name != drop],
                        "outputs": [{"name": "churn_probability", "type": "numeric"}],
                    }
                ],
            }
        ).models[0]
    rng = np.random.default_rng(5)
    frame = customers(2000, rng).assign(churn_probability=rng.random(2000), churned=rng.integers(0, 2, 2000))
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    drift.build_profile(frame, model, model_version=model_version).save(str(path))
    return path


@pytest.fixture
def overlay(tmp_path: Path) -> Path:
    copy = tmp_path / "monitor.yaml"
    shutil.copyfile(OVERLAY_CONFIG, copy)
    return copy


def test_the_promote_step_moves_the_reference_and_nothing_else(overlay: Path, tmp_path: Path) -> None:
    before = overlay.read_text()
    profile = _profile(tmp_path, "run-42-profile.json")
    result = run_cli("set-reference", "--config", str(overlay), "--model", "churn-model", "--profile", str(profile))
    assert result.returncode == 0, result.stderr
    assert "s3://churn-model-bucket/monitoring/churn-model/profile.json -> " in result.stdout
    after = overlay.read_text()
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]  # fmt: skip
    assert changed == [
        "-      profile: s3://churn-model-bucket/monitoring/churn-model/profile.json",
        f"+      profile: {profile}",
    ]
    assert drift.load_config(overlay).model("churn-model").reference.profile == str(profile)
    # a value that needs quoting is written quoted, and read back the same
    odd = tmp_path / "a profile #1.json"
    shutil.copyfile(profile, odd)
    assert (
        run_cli("set-reference", "--config", str(overlay), "--model", "churn-model", "--profile", str(odd)).returncode
        == 0
    )
    assert drift.load_config(overlay).model("churn-model").reference.profile == str(odd)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "churn-model", "--profile", "{wrong}"], "the profile has no feature 'support_calls'"),
        (["--model", "churn-model", "--profile", "{missing}"], "nowhere.json: no such file"),
        (["--model", "fraud-model", "--profile", "{right}"], "no model 'fraud-model'"),
        (["--model", "churn-model", "--namespace", "retail", "--profile", "{right}"], "in namespace 'retail'"),
        (["--config", "{nofile}", "--model", "churn-model", "--profile", "{right}"], "file not found"),
    ],
)
def test_a_wrong_promotion_is_refused_in_one_line(overlay: Path, tmp_path: Path, args: list[str], message: str) -> None:
    paths = {
        "{wrong}": str(_profile(tmp_path, "wrong.json", drop="support_calls")),
        "{right}": str(_profile(tmp_path, "right.json")),
        "{missing}": str(tmp_path / "nowhere.json"),
        "{nofile}": str(tmp_path / "absent.yaml"),
    }
    before = overlay.read_bytes()
    result = run_cli("set-reference", "--config", str(overlay), *[paths.get(a, a) for a in args])
    assert result.returncode == 1, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    assert overlay.read_bytes() == before
    assert not [p.name for p in overlay.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_config_that_finds_each_versions_profile_is_checked_not_edited(overlay: Path, tmp_path: Path) -> None:
    """With ``{version}`` in reference.profile the exporter finds every version's profile by itself: the promote
    step's command only checks that the new one is there, fits the model and belongs to that version."""
    template = str(tmp_path / "runs" / "{version}" / "driftline-profile.json")
    text = overlay.read_text().replace("s3://churn-model-bucket/monitoring/churn-model/profile.json", template)
    text = text.replace(
        "    target:", "    versions: {source: annotation, name: driftline.io/model-version}\n    target:", 1
    )
    overlay.write_text(text)
    right = _profile(tmp_path, "runs/7/driftline-profile.json", model_version="7")
    result = run_cli("set-reference", "--config", str(overlay), "--model", "churn-model", "--profile", str(right))
    assert result.returncode == 0, result.stderr
    assert "finds version 7's profile" in result.stdout and "unchanged" in result.stdout
    assert overlay.read_text() == text
    other = _profile(tmp_path, "runs/8/driftline-profile.json", model_version="9")
    elsewhere = _profile(tmp_path, "elsewhere/driftline-profile.json", model_version="7")
    for profile, message in ((other, "built for model version '9', not '8'"), (elsewhere, "is not one")):
        refused = run_cli(
            "set-reference", "--config", str(overlay), "--model", "churn-model", "--profile", str(profile)
        )
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert overlay.read_text() == text
