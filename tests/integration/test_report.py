"""Drift reports: `driftline report` writes an Evidently HTML page that headless Chromium (Debian's `chromium`)
renders into a drift table; the exporter serves the same for its live window at /report/{namespace}/{model}."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import requests

from tests.support import (
    ExporterProcess,
    label_entries,
    labelled_churn_frame,
    post_labels,
    run_cli,
    send_predictions,
    target_config,
)

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
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is required (make test installs it)"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=15000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    parser = Tables()
    parser.feed(result.stdout)
    return parser.tables


def drift_table(tables: list[list[list[str]]]) -> dict[str, str]:
    """Evidently's data drift table: {column: "Detected" | "Not Detected"}."""
    for table in tables:
        if table and "Column" in table[0] and "Data Drift" in table[0]:
            name, at = table[0].index("Column"), table[0].index("Data Drift")
            return {row[name]: row[at] for row in table[1:] if len(row) > at}
    raise AssertionError(f"no data drift table among {[t[0] for t in tables if t]}")


def test_driftline_report_renders_a_drift_table_in_chromium(tmp_path: Path) -> None:
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
    drift = drift_table(tables)
    assert drift["monthly_charges"] == "Detected" and drift["churn_probability"] == "Detected"
    assert drift["contract"] == "Not Detected" and set(FEATURES) <= set(drift)
    verdict = next(t for t in tables if t and t[0][:2] == ["column", "driftline decision"])
    assert verdict[2][:2] == ["feature monthly_charges", "DRIFTED"]
    assert "Model quality: current labels against the reference" in page
    assert any(row and row[0] == "Top(%)" for t in tables for row in t[:1])  # Evidently's classification tables


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
        first = requests.get(exporter.url + "/report/default/churn-model", timeout=120)
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
        again = requests.get(exporter.url + "/report/default/churn-model", timeout=60)
        assert again.content == first.content  # served from the cache within report_interval
        # Ingestion keeps working while reports are built.
        assert requests.get(exporter.url + "/healthz", timeout=5).status_code == 200
    page = tmp_path / "live.html"
    page.write_bytes(first.content)
    assert "current 1,500 of 1,500" in first.text
    assert "Model quality (last section): 600 of 600 labelled predictions" in first.text
    tables = rendered_tables(page)
    drift = drift_table(tables)
    assert drift["monthly_charges"] == "Detected" and drift["tenure"] == "Not Detected"
    # the labelled window's quality section is drawn too: Evidently's classification tables for both sides
    assert sum(1 for t in tables if t and t[0][:1] == ["Top(%)"]) == 2
