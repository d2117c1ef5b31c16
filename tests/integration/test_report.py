"""Drift reports: `driftline report` writes an HTML page — driftline's verdict, and Evidently's sections with the
report extra — that headless Chromium (Debian's `chromium`) renders; the exporter serves the same for its live window
at /report/{namespace}/{model}. `make test` runs these with Evidently and again on the core install without it."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from tests.support import (
    HANG_TIMEOUT,
    ExporterProcess,
    label_entries,
    labelled_churn_frame,
    post_labels,
    run_cli,
    send_predictions,
    target_config,
    wait_for,
)

pytestmark = pytest.mark.install

FEATURES = ["tenure", "monthly_charges", "contract", "internet_service"]


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
            self._depth += 1
        elif tag == "tr" and self._depth:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self._depth:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rendered_tables(page: Path) -> list[list[list[str]]]:
    """The page as Chromium renders it (Evidently draws its tables with JavaScript), parsed into tables."""
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=15000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=HANG_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    parser = Tables()
    parser.feed(result.stdout)
    return parser.tables


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is required (make test installs it)"
    return found


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 900) -> Image.Image:
    """What a person sees first: the page in headless Chromium, one laptop screen high."""
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--virtual-time-budget=15000", f"--window-size={width},{height}", f"--screenshot={out}",
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=HANG_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0 and out.exists(), result.stderr[-2000:]
    return Image.open(out).convert("RGB")


def share_of(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> float:
    """The share of the pixels in ``box`` (left, top, right, bottom) of exactly ``colour``."""
    region = np.asarray(image.crop(box))
    return float(np.all(region == np.array(colour), axis=-1).mean())


DRIFTED_RED = (0xC6, 0x28, 0x28)
STABLE_GREEN = (0x2E, 0x7D, 0x32)


@pytest.mark.report
def test_driftline_report_puts_its_verdict_first_and_one_answer_on_the_page(tmp_path: Path) -> None:
    config, _ = target_config(tmp_path)
    assert run_cli("profile", "--config", str(config)).returncode == 0
    labelled_churn_frame(8000, seed=4, shift=0.5).to_parquet(tmp_path / "current.parquet")
    out = tmp_path / "reports" / "report.html"
    result = run_cli(
        "report", "--config", str(config), "--model", "churn-model", "--current", str(tmp_path / "current.parquet"),
        "--out", str(out), "--max-rows", "3000",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert "current 3,000 of 8,000, reference 3,000 of 20,000" in page  # the sampling is said
    tables = rendered_tables(out)
    features = next(t for t in tables if t and t[0][:2] == ["feature", "decision"])
    assert features[1][:2] == ["monthly_charges", "DRIFTED"], "the most evident drift first"
    decisions = [row[1] for row in features[1:]]
    assert decisions == sorted(decisions, key=lambda d: d != "DRIFTED"), "drifted features before stable ones"
    assert dict((row[0], row[1]) for row in features[1:])["contract"] == "stable"
    outputs = next(t for t in tables if t and t[0][:2] == ["output", "decision"])
    assert outputs[1][:2] == ["churn_probability", "DRIFTED"]
    # one drift answer on the page: Evidently's data summary and quality are there, its drift tests are not
    assert not any(t and "Data Drift" in t[0] for t in tables), "Evidently's drift table would be a second verdict"
    assert "Model quality: current labels against the reference" in page
    assert any(row and row[0] == "Top(%)" for t in tables for row in t[:1])  # Evidently's classification tables


def test_a_screenshot_shows_the_verdict_above_the_fold_and_a_drifted_feature_first(tmp_path: Path) -> None:
    """The demo's own data (drifted traffic against the training set), as on-call opens the report on a laptop:
    the red dataset decision and a red DRIFTED badge on the first feature row are in the first screen."""
    demo = run_cli("demo", "--no-servers", "--duration", "5s", "--data-dir", str(tmp_path / "demo-data"))
    assert demo.returncode == 0, demo.stderr[-2000:]
    data = tmp_path / "demo-data"
    out = data / "report.html"
    result = run_cli("report", "--config", str(data / "monitor.yaml"), "--model", "churn-model",
                     "--current", str(data / "current.csv"), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    image = screenshot(out, tmp_path / "report.png")
    assert image.size == (1280, 900)
    pixels = np.asarray(image)
    red = np.all(pixels == np.array(DRIFTED_RED), axis=-1)
    green = np.all(pixels == np.array(STABLE_GREEN), axis=-1)
    banner = np.where(red.mean(axis=1) > 0.9)[0]  # rows the red decision spans nearly edge to edge
    assert banner.size > 40 and banner[0] < 200, "the dataset decision, red, at the top of the first screen"
    below = slice(banner[-1] + 1, 900)
    badges = np.where((red[below].sum(axis=1) > 20) | (green[below].sum(axis=1) > 20))[0]
    assert badges.size, "decision badges in the first screen"
    first = badges[0] + banner[-1] + 1
    assert red[first].sum() > 20 and green[first].sum() == 0, "the first feature row is a drifted one"
    assert green[below].sum() > 0, "stable features are listed too"
    assert share_of(image, (0, 0, 1280, 900), DRIFTED_RED) < 0.3, "not a page painted red"


def test_report_command_errors_are_one_line(tmp_path: Path) -> None:
    config, _ = target_config(tmp_path)
    missing = run_cli("report", "--config", str(config), "--model", "churn-model", "--current",
                      str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.html"))  # fmt: skip
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "nope.csv" in missing.stderr
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    wrong = run_cli("report", "--config", str(config), "--model", "churn-model", "--current",
                    str(tmp_path / "bad.csv"), "--out", str(tmp_path / "r.html"))  # fmt: skip
    assert wrong.returncode == 1 and "'tenure'" in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    unknown = run_cli("report", "--config", str(config), "--model", "other", "--current", "x.csv", "--out", "r.html")
    assert unknown.returncode == 1 and "churn-model" in unknown.stderr
    assert not (tmp_path / "r.html").exists()
    # no profile yet: the page is written (Evidently's sections), but the command says why driftline's verdict is
    # missing and how to get it, and fails
    current = tmp_path / "current.csv"
    labelled_churn_frame(300, seed=4).to_csv(current, index=False)
    unprofiled = run_cli("report", "--config", str(config), "--model", "churn-model", "--current", str(current),
                         "--out", str(tmp_path / "r.html"))  # fmt: skip
    assert unprofiled.returncode == 1 and len(unprofiled.stderr.strip().splitlines()) == 1, unprofiled.stderr
    assert "no driftline verdict" in unprofiled.stderr and "driftline profile --config" in unprofiled.stderr
    assert (tmp_path / "r.html").exists()


def test_exporter_serves_the_live_window_report(tmp_path: Path) -> None:
    config, _ = target_config(tmp_path)
    assert run_cli("profile", "--config", str(config)).returncode == 0
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        empty = requests.get(exporter.url + "/report/default/churn-model", timeout=60)
        assert empty.status_code == 409 and empty.json()["reason"] == "empty_window"
        unknown = requests.get(exporter.url + "/report/default/other", timeout=10)
        assert unknown.status_code == 404 and unknown.json()["reason"] == "unknown_model"
        frame = labelled_churn_frame(1500, seed=8, shift=0.5)
        ids = send_predictions(exporter.url, frame, rows_per_call=50)
        late = label_entries(ids, frame["churned"].to_numpy(), rows_per_call=50)[:600]  # labels for some of them
        assert post_labels(exporter.url, late)["joined"] == 600

        def labelled() -> bool:  # the quality rows are the last evaluation's
            samples = requests.get(exporter.url + "/metrics", timeout=5).text
            return 'driftline_labelled_window_samples{model="churn-model",model_namespace="default"} 600.0' in samples

        wait_for(labelled, 120)
        first = requests.get(exporter.url + "/report/default/churn-model", timeout=120)
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
        again = requests.get(exporter.url + "/report/default/churn-model", timeout=60)
        assert again.content == first.content  # served from the cache within report_interval
        # Ingestion keeps working while reports are built.
        assert requests.get(exporter.url + "/healthz", timeout=5).status_code == 200
    page = tmp_path / "live.html"
    page.write_bytes(first.content)
    tables = rendered_tables(page)
    features = next(t for t in tables if t and t[0][:2] == ["feature", "decision"])
    decisions = {row[0]: row[1] for row in features[1:]}
    assert features[1][0] == "monthly_charges" and decisions["monthly_charges"] == "DRIFTED"
    assert decisions["tenure"] == "stable"
    quality = next(t for t in tables if t and t[0][:1] == ["model quality"])
    assert ["quality", "ok", "600 labelled predictions"] in quality
    # CBPE from the 1,500 scores, labels or not: the estimate and its band
    assert ["estimated quality", "ok", "1,500 scored predictions, no labels"] in quality
    accuracy = next(row for row in quality if row[0] == "estimated accuracy")
    assert re.fullmatch(r"0\.\d{4} \(band 0\.\d{4}–0\.\d{4}\)", accuracy[2]), accuracy
    if importlib.util.find_spec("evidently") is None:  # the core install (make test's pandas-3 run)
        assert "need the report extra: pip install &#x27;driftline[report]&#x27;" in first.text
        assert not any(t and t[0][:1] == ["Top(%)"] for t in tables)
        return
    assert "current 1,500 of 1,500" in first.text
    assert "Model quality (last section): 600 of 600 labelled predictions" in first.text
    # the labelled window's quality section is drawn too: Evidently's classification tables for both sides
    assert sum(1 for t in tables if t and t[0][:1] == ["Top(%)"]) == 2
