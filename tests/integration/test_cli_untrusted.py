"""The second hostile-input review's finding 11: what the command line is given — a config, a profile, reference
data — is outside input too. Each answer is one line on stderr naming the file and what is wrong, with values cut
and escaped, and exit 1: never a traceback, a hang, an echo of an expanded value, or gigabytes of memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import IRIS, iris_config, run_cli

pytestmark = pytest.mark.install


def one_line_error(result: subprocess.CompletedProcess[str], command: str, *needles: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"driftline {command}: error: ") or line.startswith("/"), line
    assert len(line) < 600 and line.isprintable(), line
    for needle in needles:
        assert needle in line, line
    return line


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("version: 1\nmodels: " + "[" * 3000 + "]" * 3000, "nested more than 64 levels"),
        ("version: " + "9" * 100_000, "an integer of 100,000 characters"),
        ("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
         + "\n".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)),
         "once its aliases are expanded"),
    ],
    ids=["nested-3000-deep", "version-of-100000-digits", "billion-laughs"],
)  # fmt: skip
def test_review2_finding_11_a_hostile_config_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    for command in ("check-config", "generate"):
        extra = ["--out", str(tmp_path / "out")] if command == "generate" else []
        result = run_cli(command, "--config", str(path), *extra)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert needle in result.stderr and len(result.stderr) < 400, result.stderr[:400]


def test_review2_finding_11_a_fifo_as_reference_data_is_refused_without_hanging(tmp_path: Path) -> None:
    config = iris_config(tmp_path, cli=False)
    (tmp_path / "iris.csv").unlink()
    os.mkfifo(tmp_path / "iris.csv")
    for command in ("check-config", "profile"):
        result = run_cli(command, "--config", str(config))  # run_cli's 300 s timeout: a hang fails the test
        assert result.returncode == 1 and "is a FIFO; give a file" in result.stderr, result.stderr


def test_review2_finding_11_a_binary_header_is_escaped_not_echoed(tmp_path: Path) -> None:
    config = iris_config(tmp_path, cli=False)
    (tmp_path / "iris.csv").write_bytes(b"\x1b[2J\x1b[31mowned\x07,\x00\x01\x02\n1,2\n")
    for command in ("check-config", "profile"):
        line = one_line_error(run_cli(command, "--config", str(config)), command, "no column 'sepal_length'")
        assert "\x1b" not in line and "\x07" not in line and "\\x1b[2J" in line


@pytest.mark.parametrize(
    "profile",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"format": "driftline.profile", "format_version": 2, "rows": ' + b"9" * 5000 + b"}",
    ],
    ids=["nested-100000-deep", "integer-of-5000-digits"],
)  # fmt: skip
def test_review2_finding_11_set_reference_with_a_hostile_profile_is_one_line(tmp_path: Path, profile: bytes) -> None:
    config = iris_config(tmp_path, cli=False)
    before = config.read_text()
    (tmp_path / "hostile.json").write_bytes(profile)
    result = run_cli("set-reference", "--config", str(config), "--model", "sklearn-iris", "--profile",
                     str(tmp_path / "hostile.json"))  # fmt: skip
    one_line_error(result, "set-reference", "hostile.json", "rebuild it with `driftline profile`")
    assert config.read_text() == before


MAKE_BOMB = """
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
rng = np.random.default_rng(0)
values = np.array(["0", "1", "2"], dtype=object)[rng.integers(0, 3, 3000)]
values[0] = "x" * 400_000_000
columns = {c: rng.normal(5, 1, 3000) for c in sys.argv[2:]}
table = pa.table({**columns, "class": pa.array(list(values), pa.large_string())})
pq.write_table(table, sys.argv[1], compression="zstd")
"""
# The peak RSS of a command, measured by a small parent of its own (a child forked from the test process would count
# the test's pages too).
PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n{done.returncode}\\n{done.stderr}")
"""


def test_review2_finding_11_a_small_parquet_file_of_one_huge_value_is_refused_from_its_footer(tmp_path: Path) -> None:
    """120 KB on disk, 400 MB in one cell: the profile command took 3.7 GB and wrote the value into the profile."""
    config = iris_config(tmp_path, cli=False)
    bomb = tmp_path / "iris.parquet"
    subprocess.run([sys.executable, "-c", MAKE_BOMB, str(bomb), *IRIS], check=True, timeout=300)
    assert bomb.stat().st_size < 1 << 20
    content = yaml.safe_load(config.read_text())
    content["models"][0]["reference"]["data"] = "iris.parquet"
    config.write_text(yaml.safe_dump(content))
    exe = shutil.which("driftline", path=str(Path(sys.executable).parent))
    assert exe is not None
    measured = subprocess.run([sys.executable, "-c", PEAK, exe, "profile", "--config", str(config)],
                              capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    peak_kb, status, stderr = measured.stdout.split("\n", 2)
    result = subprocess.CompletedProcess([], int(status), "", stderr)
    one_line_error(result, "profile", "column 'class' decodes to 381 MiB", "smaller row groups")
    assert int(peak_kb) < 512 * 1024, f"peak RSS {int(peak_kb) // 1024} MB"  # the footer is read, not the value


def test_review2_finding_11_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    config = iris_config(tmp_path, cli=False)
    exe = shutil.which("driftline", path=str(Path(sys.executable).parent))
    assert exe is not None
    generate = subprocess.Popen(
        [exe, "generate", "--config", str(config), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert generate.stdout is not None and generate.stderr is not None
    generate.stdout.close()  # `| head -0`: the reader is gone before anything is written
    error = generate.stderr.read().decode()
    assert generate.wait(timeout=120) == 1 and error == "", error
    assert (tmp_path / "out" / "prometheus" / "rules.yml").exists(), "the work is done before the output"
