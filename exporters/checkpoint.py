"""Checkpoints of the windows' counts, so a restart (a deploy, an OOM kill, a node drain) loses seconds, not hours.

One file per model in ``exporter.state_dir``, ``<namespace>%2F<name>.npz``: the buckets of its feature and output
windows (:class:`~exporters.windows.WindowState`) and the profile version they were counted against, and — for a
model with a target — its prediction store and labelled window, so labels for predictions made before a restart
still join. A file is
written to a temporary name, flushed to disk and renamed over the old one, so a crash or a full disk leaves the
previous checkpoint whole. An unreadable or foreign file is reported, and the window then starts empty.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from drift.errors import DriftlineError
from drift.reference.storage import write_bytes

from .windows import WindowState

FORMAT = "driftline.window-checkpoint"
FORMAT_VERSION = 1
_ARRAYS = ("counts", "rows", "first", "last")


class CheckpointError(DriftlineError):
    pass


@dataclass(frozen=True)
class ModelState:
    """What a checkpoint holds of one model: its windows' buckets (``features``, ``outputs``) and, with a target,
    its ground truth as plain arrays (``store``: the predictions awaiting labels; ``labelled``: the labelled
    window)."""

    windows: dict[str, WindowState]
    ground_truth: dict[str, dict[str, np.ndarray[Any, Any]]]


class Checkpoints:
    """Reads and writes the per-model checkpoint files of one state directory."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.directory, prefix=".probe-")  # noqa: SIM115
            probe.close()
        except OSError as exc:
            raise CheckpointError(f"exporter.state_dir {directory}: cannot write there ({exc.strerror})") from None

    def path(self, namespace: str, name: str) -> Path:
        return self.directory / (quote(f"{namespace}/{name}", safe="") + ".npz")

    def save(self, namespace: str, name: str, state: ModelState) -> None:
        """Write a model's state atomically; raises StorageError (the previous file stays) when it cannot."""
        arrays: dict[str, Any] = {}
        meta: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": [namespace, name]}
        for part, window in state.windows.items():
            meta[part] = {"version": window.version, "current": window.current}
            for field in _ARRAYS:
                arrays[f"{part}.{field}"] = getattr(window, field)
        meta["ground_truth"] = {group: sorted(values) for group, values in state.ground_truth.items()}
        for group, values in state.ground_truth.items():
            for key, value in values.items():
                arrays[f"{group}.{key}"] = value
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_bytes(str(self.path(namespace, name)), buffer.getvalue())  # a temporary file renamed over the old

    def load(self, namespace: str, name: str) -> ModelState:
        """A model's state; empty when it has no checkpoint. Raises CheckpointError when it is unreadable."""
        path = self.path(namespace, name)
        if not path.exists():
            return ModelState({}, {})
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
                    raise ValueError(f"not a {FORMAT} {FORMAT_VERSION}")
                if meta.get("model") != [namespace, name]:
                    raise ValueError(f"written for {meta.get('model')}")
                parts: dict[str, WindowState] = {}
                for part in ("features", "outputs"):
                    if part not in meta:
                        continue
                    counts, rows, first, last = (data[f"{part}.{f}"] for f in _ARRAYS)
                    buckets = rows.shape[0]
                    if counts.ndim != 2 or counts.shape[0] != buckets or first.shape != last.shape != rows.shape:
                        raise ValueError(f"{part}: inconsistent shapes")
                    current = int(meta[part]["current"])
                    if not -1 <= current < buckets or np.any(counts < 0) or np.any(rows < 0):
                        raise ValueError(f"{part}: inconsistent counts")
                    parts[part] = WindowState(
                        str(meta[part]["version"]),
                        counts.astype(np.int32),
                        rows.astype(np.int64),
                        first.astype(np.float64),
                        last.astype(np.float64),
                        current,
                    )
                ground_truth = {
                    str(group): {str(key): data[f"{group}.{key}"] for key in keys}
                    for group, keys in meta.get("ground_truth", {}).items()
                }
                return ModelState(parts, ground_truth)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise CheckpointError(f"{path}: unreadable window checkpoint ({exc})") from None
