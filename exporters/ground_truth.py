"""Ground truth for earlier predictions: the bounded store that keeps predictions until their labels arrive, the
window of labelled predictions, and a model's :class:`GroundTruth` that joins labels to predictions.

A label names the prediction by the KServe ``Ce-Id`` of the inference request (request and response share it) and
the row of a batched request. The :class:`PredictionStore` is a fixed ring of ``feedback.store_size`` rows plus an
index ``id → first row``, so its memory is fixed by the config whatever the traffic: a prediction leaves it when
its rows are overwritten (size) or when it is older than ``feedback.ttl``. A label whose prediction is not there is
counted as ``unmatched``, never an error — late beyond the TTL, sampled out, or for an id this exporter never saw.
Every serving version of a model puts its predictions into the model's one store: a label joins whichever version
made the prediction.
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from drift.boundary import shown
from drift.catalogue import LABEL_OUTCOMES
from drift.config import CLASSIFICATION, ModelConfig

from .checkpoint import CheckpointError
from .events import stored_id
from .feedback import Label
from .payloads import Rows


class GroundTruth:
    """A model's predictions waiting for labels and its window of labelled predictions (``target`` configured)."""

    def __init__(self, model: ModelConfig) -> None:
        target = model.target
        assert target is not None
        prediction = next(c for c in model.outputs if c.name == target.prediction)
        names = [c.name for c in model.outputs if c.is_numeric == prediction.is_numeric]
        self.prediction_column = (prediction.is_numeric, names.index(prediction.name))  # (numeric block?, column)
        self.store = PredictionStore(model.feedback.store_size, model.feedback.ttl.seconds, prediction.is_numeric)
        self.labelled = LabelledWindow(
            target.window.size, target.window.max_age.seconds, target.task != CLASSIFICATION, prediction.is_numeric
        )

    def put(self, event_id: str, rows: Rows, now: float) -> None:
        """Keep a response's predictions for their labels."""
        numeric, index = self.prediction_column
        self.store.put(stored_id(event_id), (rows.numeric_array if numeric else rows.categorical)[:, index], now)

    def join(
        self, labels: tuple[Label, ...], keeps: Callable[[str], bool], now: float
    ) -> tuple[dict[str, int], np.ndarray[Any, Any]]:
        """Join labels to stored predictions; the joined pairs enter the labelled window. A label of an event that
        sampling dropped (``keeps`` false) is counted ``sampled_out``. Returns the outcome counts and each joined
        label's delay (seconds from prediction to label)."""
        outcomes = dict.fromkeys(LABEL_OUTCOMES, 0)
        values: list[Any] = []
        predictions: list[Any] = []
        predicted_at: list[float] = []
        known_at: list[float] = []
        for label in labels:
            if not keeps(label.event_id):
                outcomes["sampled_out"] += 1
                continue
            outcome, prediction, at = self.store.take(stored_id(label.event_id), label.row, now)
            outcomes[outcome] += 1
            if outcome == "joined":
                values.append(label.value)
                predictions.append(prediction)
                predicted_at.append(at)
                known_at.append(label.known_at if label.known_at is not None else now)
        self.labelled.append(values, predictions, predicted_at, now)
        return outcomes, np.maximum(np.asarray(known_at, dtype=np.float64) - np.asarray(predicted_at), 0.0)

    def state(self) -> dict[str, dict[str, np.ndarray[Any, Any]]]:
        return {"store": self.store.state(), "labelled": self.labelled.state()}

    def restore(self, state: Mapping[str, Mapping[str, np.ndarray[Any, Any]]]) -> None:
        """Take over a checkpoint's ground truth; raises CheckpointError (nothing taken) when it does not fit."""
        try:  # both checked before either is taken
            take_store = self.store.prepare(state["store"])
            take_labelled = self.labelled.prepare(state["labelled"])
        except Exception as exc:  # the arrays are outside input: whatever they make fail, they do not fit
            detail = shown(str(exc) if not isinstance(exc, KeyError) else f"no {exc}", 120).strip("'\"")
            raise CheckpointError(f"the ground truth does not fit this model's config ({detail})") from None
        take_store()
        take_labelled()

    @property
    def generations(self) -> tuple[int, int]:
        return self.store.generation, self.labelled.generation


class PredictionStore:
    """Predictions awaiting labels: a ring of ``size`` rows and an index ``event id → sequence number``.

    Calls occupy consecutive rows, oldest first; the ring records at each call's first row its id, row count and
    time, so evicting the oldest call needs no other structure. Memory: 33 bytes per row allocated at start, plus one
    dict entry (~80 bytes) per stored call besides the id string the event brought. The ring is plain ``array`` /
    ``list`` / ``bytearray``, not numpy: ``put`` touches a few items per call, where numpy's per-item boxing would
    cost more than everything else it does.
    """

    def __init__(self, size: int, ttl: float, numeric: bool, on_evict: Callable[[str], None] | None = None) -> None:
        self.size, self.ttl, self.numeric = size, ttl, numeric
        self.on_evict = on_evict or (lambda reason: None)  # reason: size | ttl
        self._values: Any = array("d", bytes(8 * size)) if numeric else [None] * size
        self._labelled = bytearray(size)
        self._ids: list[str | None] = [None] * size  # at a call's first row: its id
        self._rows = array("q", bytes(8 * size))  # at a call's first row: how many rows it has
        self._times = array("d", bytes(8 * size))  # at a call's first row: when it was predicted
        self._index: dict[str, int] = {}  # id -> sequence number of the call's first row
        self._oldest = 0  # sequence number of the oldest held row
        self._next = 0  # sequence number of the next row; a row's slot is its sequence number % size
        self.generation = 0  # bumped on every change: what a checkpoint compares
        self._lock = threading.Lock()

    def state(self) -> dict[str, np.ndarray[Any, Any]]:
        """The held predictions as arrays for a checkpoint (strings as JSON)."""
        with self._lock:
            return {
                "values": np.frombuffer(array("d", self._values).tobytes(), dtype=np.float64).copy()
                if self.numeric
                else _json_array(self._values),
                "labelled": np.frombuffer(bytes(self._labelled), dtype=np.uint8).copy(),
                "ids": _json_array(self._ids),
                "rows": np.asarray(self._rows, dtype=np.int64),
                "times": np.asarray(self._times, dtype=np.float64),
                "bounds": np.array([self._oldest, self._next], dtype=np.int64),
            }

    def restore(self, state: Mapping[str, np.ndarray[Any, Any]]) -> None:
        """Take over a checkpoint's predictions; raises ValueError when it does not fit this store."""
        self.prepare(state)()

    def prepare(self, state: Mapping[str, np.ndarray[Any, Any]]) -> Callable[[], None]:
        """Check a checkpoint's predictions against this store (ValueError, KeyError or TypeError when they do not
        fit) and return what takes them over: nothing changes until it is called."""
        values = state["values"] if self.numeric else _from_json_array(state["values"])
        ids = _from_json_array(state["ids"])
        oldest, following = (int(x) for x in state["bounds"])
        rows, times = np.asarray(state["rows"], dtype=np.int64), np.asarray(state["times"], dtype=np.float64)
        if (
            not (len(values) == len(ids) == state["labelled"].size == rows.size == times.size == self.size)
            or not 0 <= following - oldest <= self.size
        ):
            raise ValueError("the prediction store's checkpoint has another size")
        index = {}
        for seq in range(oldest, following):
            event_id = ids[seq % self.size]
            if event_id is not None:
                if not isinstance(event_id, str) or not 0 < rows[seq % self.size] <= self.size:
                    raise ValueError("a stored prediction is not an id and a row count")
                index[event_id] = seq
        if not self.numeric and not all(v is None or isinstance(v, str) for v in values):
            raise ValueError("a stored class is not a string")

        def apply() -> None:
            with self._lock:
                numeric = self.numeric
                self._values = array("d", np.asarray(values, dtype=np.float64).tobytes()) if numeric else list(values)
                self._labelled = bytearray(np.asarray(state["labelled"], dtype=np.uint8).tobytes())
                self._ids = list(ids)
                self._rows = array("q", rows.tobytes())
                self._times = array("d", times.tobytes())
                self._index, self._oldest, self._next = index, oldest, following
                self.generation += 1

        return apply

    def __len__(self) -> int:
        return len(self._index)

    def rows(self) -> int:
        """Rows held (each a prediction that can still be labelled)."""
        return self._next - self._oldest

    def put(self, event_id: str, values: np.ndarray[Any, Any], now: float) -> None:
        """Keep the predictions of one response (one value per row; NaN / None where missing). A repeated id keeps
        its first predictions."""
        n = len(values)
        if n == 0 or n > self.size:
            return
        items = values.tolist()
        with self._lock:
            self._expire(now)
            if event_id in self._index:
                return
            while self._oldest < self._next + n - self.size:  # the new rows would overwrite the oldest call
                self._drop_oldest("size")
            start = self._next % self.size
            if n == 1:  # most calls carry one row
                self._values[start] = items[0]
                self._labelled[start] = 0
            else:
                first = min(n, self.size - start)
                self._values[start : start + first] = array("d", items[:first]) if self.numeric else items[:first]
                self._labelled[start : start + first] = bytes(first)
                if first < n:  # wraps around the end of the ring
                    rest = items[first:]
                    self._values[: n - first] = array("d", rest) if self.numeric else rest
                    self._labelled[: n - first] = bytes(n - first)
            self._ids[start], self._rows[start], self._times[start] = event_id, n, now
            self._index[event_id] = self._next
            self._next += n
            self.generation += 1

    def _drop_oldest(self, reason: str) -> None:
        slot = self._oldest % self.size
        del self._index[self._ids[slot]]  # type: ignore[arg-type]  # a call's first row always has its id
        self._ids[slot] = None
        self._oldest += self._rows[slot]
        self.on_evict(reason)

    def _expire(self, now: float) -> None:
        limit = now - self.ttl
        while self._oldest < self._next and self._times[self._oldest % self.size] < limit:
            self._drop_oldest("ttl")

    def take(self, event_id: str, row: int, now: float) -> tuple[str, Any, float]:
        """Join one label: ``(outcome, prediction, predicted_at)``; the prediction is only meaningful when joined."""
        with self._lock:
            self._expire(now)
            first = self._index.get(event_id)
            if first is None:
                return "unmatched", None, 0.0
            start = first % self.size
            if row >= self._rows[start]:
                return "unmatched", None, 0.0
            slot = (first + row) % self.size
            if self._labelled[slot]:
                return "duplicate", None, 0.0
            self._labelled[slot] = 1
            self.generation += 1
            return "joined", self._values[slot], self._times[start]


@dataclass(frozen=True)
class LabelledSnapshot:
    labels: np.ndarray[Any, Any]
    predictions: np.ndarray[Any, Any]
    predicted_at: np.ndarray[Any, Any]
    rows: int


class LabelledWindow:
    """The last ``size`` labelled predictions, leaving out those labelled more than ``max_age`` seconds ago."""

    def __init__(self, size: int, max_age: float, numeric_labels: bool, numeric_predictions: bool) -> None:
        self.size, self.max_age = size, max_age
        self._labels = np.full(size, np.nan) if numeric_labels else np.full(size, None, dtype=object)
        self._predictions = np.full(size, np.nan) if numeric_predictions else np.full(size, None, dtype=object)
        self._predicted_at = np.zeros(size)
        self._labelled_at = np.zeros(size)
        self._next = 0
        self._count = 0
        self.generation = 0
        self._lock = threading.Lock()

    def state(self) -> dict[str, np.ndarray[Any, Any]]:
        with self._lock:
            return {
                "labels": _column_state(self._labels),
                "predictions": _column_state(self._predictions),
                "predicted_at": self._predicted_at.copy(),
                "labelled_at": self._labelled_at.copy(),
                "bounds": np.array([self._next, self._count], dtype=np.int64),
            }

    def restore(self, state: Mapping[str, np.ndarray[Any, Any]]) -> None:
        """Take over a checkpoint's labelled predictions; raises ValueError when it does not fit this window."""
        self.prepare(state)()

    def prepare(self, state: Mapping[str, np.ndarray[Any, Any]]) -> Callable[[], None]:
        """Check a checkpoint's labelled predictions against this window (ValueError, KeyError or TypeError when
        they do not fit) and return what takes them over."""
        labels = _column_from_state(state["labels"], self._labels)
        predictions = _column_from_state(state["predictions"], self._predictions)
        following, count = (int(x) for x in state["bounds"])
        sizes = {labels.size, predictions.size, state["predicted_at"].size, state["labelled_at"].size, self.size}
        if len(sizes) != 1 or not 0 <= following < self.size or not 0 <= count <= self.size:
            raise ValueError("the labelled window's checkpoint has another size")
        predicted_at = np.asarray(state["predicted_at"], dtype=np.float64)
        labelled_at = np.asarray(state["labelled_at"], dtype=np.float64)

        def apply() -> None:
            with self._lock:
                self._labels, self._predictions = labels, predictions
                self._predicted_at, self._labelled_at = predicted_at, labelled_at
                self._next, self._count = following, count
                self.generation += 1

        return apply

    def append(self, labels: list[Any], predictions: list[Any], predicted_at: list[float], now: float) -> None:
        n = len(labels)
        if n == 0:
            return
        skip = max(0, n - self.size)
        with self._lock:
            slots = (np.arange(n - skip) + self._next) % self.size
            self._labels[slots] = labels[skip:]
            self._predictions[slots] = predictions[skip:]
            self._predicted_at[slots] = predicted_at[skip:]
            self._labelled_at[slots] = now
            self._next = (self._next + n - skip) % self.size
            self._count = min(self.size, self._count + n - skip)
            self.generation += 1

    def snapshot(self, now: float) -> LabelledSnapshot:
        with self._lock:
            order = np.arange(self._next - self._count, self._next) % self.size
            keep = order[self._labelled_at[order] >= now - self.max_age]
            return LabelledSnapshot(
                self._labels[keep].copy(), self._predictions[keep].copy(), self._predicted_at[keep].copy(), keep.size
            )


def _json_array(values: Any) -> np.ndarray[Any, Any]:
    """Strings (or None) as UTF-8 JSON bytes: a checkpoint holds no pickled objects."""
    return np.frombuffer(json.dumps(list(values)).encode("utf-8", "surrogatepass"), dtype=np.uint8).copy()


def _from_json_array(data: np.ndarray[Any, Any]) -> list[Any]:
    values = json.loads(data.tobytes().decode("utf-8", "surrogatepass"))
    if not isinstance(values, list):
        raise ValueError("not a list")
    return values


def _column_state(column: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return column.copy() if column.dtype == np.float64 else _json_array(column.tolist())


def _column_from_state(data: np.ndarray[Any, Any], like: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if like.dtype == np.float64:
        return data.astype(np.float64)
    out = np.empty(len(values := _from_json_array(data)), dtype=object)
    out[:] = values
    return out
