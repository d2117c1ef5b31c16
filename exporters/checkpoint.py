"""Checkpoints of the windows' counts, so a restart (a deploy, an OOM kill, a node drain) loses seconds, not hours.

One file per model in ``exporter.state_dir``, ``<namespace>%2F<name>.npz``: the buckets of its feature and output
windows (:class:`~exporters.windows.WindowState`) and the profile version they were counted against, and — for a
model with a target — its prediction store and labelled window, so labels for predictions made before a restart
still join. A file is
written to a temporary name, flushed to disk and renamed over the old one, so a crash or a full disk leaves the
previous checkpoint whole. An unreadable or foreign file is reported and moved aside (``….npz.unusable``), and
the model then starts empty; only that model.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from drift.boundary import Limits, decode_json, shown
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
        """A model's state; empty when it has no checkpoint. Raises CheckpointError — and nothing else — when the
        file is not a checkpoint of this model (unreadable, foreign, hostile): the file is outside input."""
        path = self.path(namespace, name)
        if not path.exists():
            return ModelState({}, {})
        try:
            return self._load(path, namespace, name)
        except CheckpointError:
            raise
        except Exception as exc:
            detail = shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 120).strip("'\"")
            raise CheckpointError(f"{path}: unreadable window checkpoint ({detail})") from None

    def move_aside(self, namespace: str, name: str) -> Path | None:
        """Rename an unusable checkpoint to ``<name>.npz.unusable`` (replacing an older one), so the next start does
        not read it again and an operator can still look at it; None when it could not be moved."""
        path = self.path(namespace, name)
        aside = path.with_name(path.name + ".unusable")
        try:
            os.replace(path, aside)
        except OSError:
            return None
        return aside

    def _load(self, path: Path, namespace: str, name: str) -> ModelState:
        if path.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{path}: larger than {MAX_CHECKPOINT_BYTES >> 20} MiB; not a window checkpoint")
        with zipfile.ZipFile(path) as archive:  # what np.load would inflate, summed from the directory first
            inflated = sum(member.file_size for member in archive.infolist())
        if inflated > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{path}: inflates to {inflated:,} bytes; not a window checkpoint")
        with np.load(path, allow_pickle=False) as data:
            meta = decode_json(bytes(data["meta"]), META_LIMITS, "its meta")
            if not isinstance(meta, dict):
                raise ValueError("meta is not an object")
            if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"not a {FORMAT} {FORMAT_VERSION}")
            if meta.get("model") != [namespace, name]:
                raise ValueError(f"written for {shown(meta.get('model'))}")
            parts: dict[str, WindowState] = {}
            for part in ("features", "outputs"):
                if part not in meta:
                    continue
                described = meta[part]
                if not isinstance(described, dict) or not isinstance(described.get("version"), str):
                    raise ValueError(f"{part}: no profile version")
                counts, rows, first, last = (_numeric(data[f"{part}.{f}"]) for f in _ARRAYS)
                buckets = rows.shape[0] if rows.ndim == 1 else -1
                if counts.ndim != 2 or counts.shape[0] != buckets or not first.shape == last.shape == rows.shape:
                    raise ValueError(f"{part}: inconsistent shapes")
                current = described.get("current")
                if type(current) is not int or not -1 <= current < buckets or np.any(counts < 0) or np.any(rows < 0):
                    raise ValueError(f"{part}: inconsistent counts")
                parts[part] = WindowState(
                    described["version"],
                    counts.astype(np.int64),
                    rows.astype(np.int64),
                    first.astype(np.float64),
                    last.astype(np.float64),
                    current,
                )
            listed = meta.get("ground_truth", {})
            if not isinstance(listed, dict) or not all(
                isinstance(keys, list) and all(isinstance(k, str) for k in keys) for keys in listed.values()
            ):
                raise ValueError("ground_truth is not a mapping of array names")
            ground_truth = {str(group): {key: data[f"{group}.{key}"] for key in keys} for group, keys in listed.items()}
            return ModelState(parts, ground_truth)


def _numeric(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if array.dtype.kind not in "iuf":
        raise ValueError(f"an array of {array.dtype}, not numbers")
    return array


# A checkpoint holds a model's windows (60 buckets × its layout) and its prediction store: tens of MB at most.
MAX_CHECKPOINT_BYTES = 1 << 30
META_LIMITS = Limits(max_bytes=1 << 20, max_depth=8)
