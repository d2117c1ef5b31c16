"""`driftline profile` end to end: CSV and Parquet, local and on a real (moto) S3 server, and every way it can fail."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import drift
from drift.config import S3Config
from tests.support import HANG_TIMEOUT, churn_frame, config_dict, run_cli, write_config

pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    frame = churn_frame(40_000, seed=42)
    frame.loc[::97, "monthly_charges"] = None
    frame.loc[::89, "contract"] = None
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, row_group_size=5_000)
    return buffer.getvalue()


def profile_with_cli(tmp_path: Path, content: dict[str, Any]) -> dict[str, Any]:
    result = run_cli("profile", "--config", str(write_config(tmp_path, content)))
    assert result.returncode == 0, result.stderr
    assert "written to" in result.stdout
    return dict(json.loads((tmp_path / "profile.json").read_text()))


def test_csv_csvgz_and_parquet_give_the_same_profile_version(tmp_path: Path, reference: pd.DataFrame) -> None:
    (tmp_path / "train.csv").write_bytes(csv_bytes(reference))
    (tmp_path / "train.csv.gz").write_bytes(gzip.compress(csv_bytes(reference)))
    (tmp_path / "train.parquet").write_bytes(parquet_bytes(reference))
    versions = {}
    for name in ("train.csv", "train.csv.gz", "train.parquet"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        content = config_dict(data=str(tmp_path / name), profile="profile.json")
        document = profile_with_cli(folder, content)
        versions[name] = document["version"]
        assert document["source"]["uri"] == str(tmp_path / name)
        assert len(document["source"]["sha256"]) == 64
        assert document["rows"] == 40_000
    assert len(set(versions.values())) == 1, versions
    # and the Python API, from the DataFrame, agrees with the command line
    model = drift.parse_config(config_dict()).models[0]
    assert drift.build_profile(reference, model).version == versions["train.csv"]


def test_profile_on_s3_round_trip(tmp_path: Path, reference: pd.DataFrame, s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket="churn-model-bucket")
    s3.put_object(Bucket="churn-model-bucket", Key="data/train.csv", Body=csv_bytes(reference))
    s3.put_object(Bucket="churn-model-bucket", Key="data/train.parquet", Body=parquet_bytes(reference))
    versions = []
    for key in ("data/train.csv", "data/train.parquet"):
        profile_uri = f"s3://churn-model-bucket/monitoring/{key.replace('/', '-')}.json"
        content = config_dict(data=f"s3://churn-model-bucket/{key}", profile=profile_uri, endpoint=s3_endpoint)
        result = run_cli("profile", "--config", str(write_config(tmp_path, content)), "--model", "churn-model")
        assert result.returncode == 0, result.stderr
        loaded = drift.ReferenceProfile.load(profile_uri, S3Config(endpoint_url=s3_endpoint))
        head = s3.head_object(Bucket="churn-model-bucket", Key=key)
        assert loaded.source["uri"] == f"s3://churn-model-bucket/{key}"
        assert loaded.source["etag"] == head["ETag"].strip('"')
        versions.append(loaded.version)
    assert versions[0] == versions[1]
    local = tmp_path / "local"
    local.mkdir()
    (local / "train.csv").write_bytes(csv_bytes(reference))
    assert profile_with_cli(local, config_dict(data="train.csv"))["version"] == versions[0]


def one_line_error(result: Any) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return str(lines[0])


def test_missing_object_on_s3(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket="empty-bucket")
    content = config_dict(data="s3://empty-bucket/data/train.csv", profile="p.json", endpoint=s3_endpoint)
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, content))))
    assert "s3://empty-bucket/data/train.csv: no such object" in line
    content = config_dict(data="s3://no-such-bucket/train.parquet", profile="p.json", endpoint=s3_endpoint)
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, content))))
    assert "s3://no-such-bucket/train.parquet" in line and "bucket does not exist" in line


def test_denied_bucket(tmp_path: Path, s3: Any, s3_endpoint: str, reference: pd.DataFrame) -> None:
    s3.create_bucket(Bucket="locked-bucket")
    s3.put_object(Bucket="locked-bucket", Key="train.csv", Body=csv_bytes(reference.head(100)))
    s3.put_bucket_policy(
        Bucket="locked-bucket",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::locked-bucket", "arn:aws:s3:::locked-bucket/*"],
                    }
                ],
            }
        ),
    )
    content = config_dict(data="s3://locked-bucket/train.csv", profile="p.json", endpoint=s3_endpoint)
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, content))))
    assert "s3://locked-bucket/train.csv: access denied" in line and "s3:GetObject" in line
    assert not (tmp_path / "p.json").exists()
    # writing the profile into a denied bucket fails the same way, after reading local data
    (tmp_path / "train.csv").write_bytes(csv_bytes(reference.head(100)))
    content = config_dict(data="train.csv", profile="s3://locked-bucket/profile.json", endpoint=s3_endpoint)
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, content))))
    assert "s3://locked-bucket/profile.json: access denied" in line and "s3:PutObject" in line


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b"tenure,monthly_charges,contract,internet_service,churn_probability\n1,2,a,b,0.5\n1,2,a\n",
            "Expected 5 columns, got 3",
        ),
        (
            b"tenure,monthly_charges,contract,internet_service,churn_probability\n1,abc,a,b,0.5\n",
            "column 'monthly_charges': CSV conversion error to double: invalid value 'abc'",
        ),
        (b"tenure,contract\n1,a\n", "no column 'monthly_charges', 'internet_service', 'churn_probability'"),
        (b"", "train.csv"),
        (b"tenure,monthly_charges,contract,internet_service,churn_probability\n", "no rows"),
    ],
)
def test_bad_csv(tmp_path: Path, body: bytes, expected: str) -> None:
    (tmp_path / "train.csv").write_bytes(body)
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, config_dict()))))
    assert str(tmp_path / "train.csv") in line and expected in line
    assert not (tmp_path / "profile.json").exists()


READ_THEN_EXIT = """
import sys
from drift.config import ColumnConfig
from drift.reference.reader import reference_batches
columns = (ColumnConfig("tenure", "numeric"), ColumnConfig("contract", "categorical"))
batches = reference_batches(sys.argv[1], columns)
first = next(batches, None)  # then stop reading, as check-config does, or find the file has no rows
batches.close()
sys.exit(3)
"""


def test_a_process_that_read_a_csv_exits_with_its_own_status(tmp_path: Path) -> None:
    """No reading thread may hold a Python object while the interpreter exits: pyarrow's streaming reader released
    the blocks it read ahead from a Python stream on its own threads, which aborted the process ("terminate called
    without an active exception") after driftline had printed its error, or hung it. A race, so it is run many times
    (with pyarrow's streaming reader 2-5% of these runs aborted or hung) on a header-only file, plain and gzipped,
    and on a file of several blocks left after its first."""
    header = b"tenure,contract\n"
    (tmp_path / "empty.csv").write_bytes(header)
    (tmp_path / "empty.csv.gz").write_bytes(gzip.compress(header))
    (tmp_path / "long.csv").write_bytes(header + b"1.5,a\n" * 800_000)
    runs = [str(tmp_path / name) for name in ("empty.csv", "empty.csv.gz", "long.csv") for _ in range(50)]

    def read_then_exit(path: str) -> tuple[int, str]:
        try:
            done = subprocess.run(
                [sys.executable, "-c", READ_THEN_EXIT, path],
                capture_output=True,
                text=True,
                timeout=HANG_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return -1, f"{path}: hung at exit"
        return done.returncode, f"{path}: {done.stderr[-300:]}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = [result for result in pool.map(read_then_exit, runs) if result[0] != 3]
    assert not failed, failed


def test_bad_parquet_and_missing_local_file(tmp_path: Path) -> None:
    (tmp_path / "train.parquet").write_bytes(b"PAR1 this is not parquet")
    content = config_dict(data="train.parquet")
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, content))))
    assert "train.parquet: not a readable Parquet file" in line
    content = config_dict(data="absent.csv")
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, content))))
    assert "absent.csv: no such file" in line


def test_unknown_model_and_bad_config(tmp_path: Path, reference: pd.DataFrame) -> None:
    (tmp_path / "train.csv").write_bytes(csv_bytes(reference.head(50)))
    path = write_config(tmp_path, config_dict())
    line = one_line_error(run_cli("profile", "--config", str(path), "--model", "fraud-model"))
    assert "no model named 'fraud-model'" in line
    broken = config_dict()
    broken["models"][0]["drift"] = {"alpha": 7}
    line = one_line_error(run_cli("profile", "--config", str(write_config(tmp_path, broken))))
    assert "models[0].drift.alpha: must be between 0 and 1" in line


def test_extra_columns_are_ignored_and_categorical_numbers_are_strings(tmp_path: Path) -> None:
    frame = churn_frame(500)
    frame["customer_id"] = range(500)
    frame["internet_service"] = [1, 2] * 250  # numbers in a categorical feature
    (tmp_path / "train.csv").write_bytes(csv_bytes(frame))
    document = profile_with_cli(tmp_path, config_dict())
    internet = next(f for f in document["features"] if f["name"] == "internet_service")
    assert sorted(internet["categories"]) == ["1", "2"]
