"""The README and docs/*.md cannot rot: their command blocks run, their Python runs, every command they mention inline
is checked, and every relative link points at something that exists.

* ```sh blocks run in order in a sandbox prepared the way the README says (`make demo` → here its equivalent,
  `driftline demo --no-servers`, which writes ./demo-data). Long-running servers (`serve`, `webhook`) are started,
  must answer /healthz, and are stopped. `make` lines must name real targets (`make demo` is run by
  tests/e2e/test_demo.py, `make test` by CI).
* ```python blocks run in the same sandbox after the commands.
* ```yaml blocks must parse, and Kubernetes objects in them must carry their kind's required fields.
* Inline `driftline …` commands must parse with the real argument parser; inline `kubectl apply -k/-f PATH` must
  name manifests that exist (tests/integration/test_shipping.py validates them); inline `kubectl create secret`
  must create the Secret and keys the manifests reference; inline `python PATH` must name an existing script.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from driftline.cli import build_parser
from tests.support import REPO, free_port

pytestmark = pytest.mark.install

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TEXTS = {page: page.read_text() for page in PAGES}
README = "\n".join(TEXTS.values())  # the README first: its quick start prepares what later blocks use
DRIFTLINE = str(Path(sys.executable).parent / "driftline")
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [m.group(2) for m in BLOCK.finditer(README) if m.group(1) == language]


def command_lines(block: str) -> list[str]:
    lines = []
    for raw in block.splitlines():
        line = raw.split("  #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (REPO / "Makefile").read_text(), flags=re.M))


def run_server(argv: list[str], cwd: Path) -> None:
    """Start a long-running command on a free port, wait for /healthz, stop it; it must stop cleanly."""
    port = free_port()
    listen = argv.index("--listen")
    argv = [*argv[: listen + 1], f"127.0.0.1:{port}", *argv[listen + 2 :]]
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"{shlex.join(argv)} never answered /healthz"
            time.sleep(0.1)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode in (0, -15), output


# a bound for a hung command, not a speed limit: the README's promtool block takes ~1.5 min alone and over 5 min beside
# the integration tier on a loaded 2-core CI machine
COMMAND = 1200


def test_command_blocks_and_python_blocks_run(tmp_path: Path) -> None:
    """In a git checkout with the repository's .gitignore, as a new user's clone: the blocks run, and leave nothing
    that `git status` would show."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    shutil.copyfile(REPO / ".gitignore", tmp_path / ".gitignore")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", ".gitignore"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *command], cwd=tmp_path, check=True, capture_output=True)
    prepared = subprocess.run(
        [DRIFTLINE, "demo", "--no-servers", "--duration", "10s"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert prepared.returncode == 0, prepared.stdout[-2000:] + prepared.stderr[-2000:]
    ran = 0
    for block in blocks("sh"):
        for line in command_lines(block):
            words = shlex.split(line)
            if words[0] == "make":
                assert words[1] in makefile_targets(), line
                continue
            if words[0] == ".venv-demo/bin/driftline":
                words[0] = DRIFTLINE
                if words[1] in ("serve", "webhook"):
                    run_server(words, tmp_path)
                    ran += 1
                    continue
                result = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, timeout=COMMAND, env=env)
            else:
                result = subprocess.run(
                    ["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=COMMAND, env=env
                )
            assert result.returncode == 0, f"README command failed: {line}\n{result.stdout}\n{result.stderr}"
            ran += 1
    assert ran >= 6
    for block in blocks("python"):
        result = subprocess.run(
            [sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"README Python block failed:\n{block}\n{result.stderr}"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert status.stdout == "", f"the Quick start left files in the clone:\n{status.stdout}"


def test_yaml_blocks_parse() -> None:
    services = 0
    for block in blocks("yaml"):
        for document in yaml.safe_load_all(block):
            if isinstance(document, dict) and document.get("kind") == "InferenceService":
                assert document["spec"]["predictor"]["logger"]["mode"] == "all"
                assert document["spec"]["predictor"]["logger"]["url"].startswith("http://driftline-exporter.")
                services += 1
    assert services >= 1, "the docs' InferenceService example is gone or no longer a yaml block"


def inline_commands(prefix: str) -> list[str]:
    spans = re.findall(r"`([^`\n]+)`", BLOCK.sub("", README))
    joined = re.findall(r"`(" + re.escape(prefix) + r"[^`]+)`", BLOCK.sub("", README).replace("\n", " "))
    return sorted({re.sub(r"\s+", " ", s).strip() for s in spans + joined if s.startswith(prefix)})


PLACEHOLDERS = {"LEVEL": "info", "HOST:PORT": "127.0.0.1:8080", "…": "x", "models:/NAME/VERSION": "models:/m/1"}


def accepts(words: list[str]) -> bool:
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:
        return exc.code == 0
    return True


def test_inline_driftline_commands_parse() -> None:
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    commands = inline_commands("driftline ")
    assert len(commands) >= 8
    for command in commands:
        text = command
        for placeholder, value in PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        words = [w.strip("[]") for w in shlex.split(text)[1:] if w.strip("[]")]
        if len(words) == 1:  # a command named in prose
            assert words[0] in subcommands, f"README names a command the CLI does not have: {command}"
        else:
            assert accepts(words), f"README shows a command the CLI does not accept: {command}"


def test_inline_kubectl_and_script_commands_point_at_real_things() -> None:
    manifests = "\n".join(p.read_text() for p in (REPO / "deploy").rglob("*.yaml"))
    for command in inline_commands("kubectl "):
        words = shlex.split(command.replace("…", "x"))
        if words[1] == "apply":
            path = words[words.index("-k") + 1] if "-k" in words else words[words.index("-f") + 1]
            assert (REPO / path).exists(), command
        elif words[1:4] == ["-n", "monitoring", "create"] or "secret" in words:
            name = words[words.index("generic") + 1]
            assert f"name: {name}" in manifests, command
            for key in re.findall(r"--from-literal=([\w-]+)=", command):
                assert f"key: {key}" in manifests, f"{command}: no manifest reads key {key}"
        elif words[1] in ("get", "logs", "describe") or words[3:4] in (["get"], ["logs"], ["describe"]):
            continue  # a look, not a change: nothing to check against the manifests
        else:
            raise AssertionError(f"the docs show a kubectl command this test does not check: {command}")
    for command in inline_commands("python "):
        words = shlex.split(command)
        if words[1] == "-m":  # a module of the repository: a package with __main__.py, or a module file
            module = REPO / words[2].replace(".", "/")
            assert (module / "__main__.py").exists() or module.with_suffix(".py").exists(), command
        else:
            assert (REPO / words[1]).exists(), command


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", BLOCK.sub("", text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_resolves() -> None:
    checked = 0
    for page, text in TEXTS.items():
        for target in LINK.findall(BLOCK.sub("", text)):
            if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.name}: {target} does not exist"
            if anchor and resolved.suffix == ".md":
                assert anchor in anchors(resolved.read_text()), (
                    f"{page.name}: no heading #{anchor} in {path or page.name}"
                )
            checked += 1
    assert checked >= 30


def test_every_page_of_docs_is_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in readme, f"the README does not link docs/{page.name}"


def test_nothing_in_the_repository_refers_to_a_file_outside_it() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    # The original contract file lived beside the repository; its name is assembled so this test does not name it.
    outside = re.compile(r"\.\./" + "shared" + r"/|\b" + "design" + r"\.md\b")
    offenders = [
        name
        for name in tracked
        if (REPO / name).is_file() and outside.search((REPO / name).read_text(errors="replace"))
    ]
    assert offenders == []
