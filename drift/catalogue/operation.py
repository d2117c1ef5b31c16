"""The exporter's operation: ingestion, window state, model files, ground truth (declared after
:mod:`.exporter`'s statistics, in the order docs/metrics.md lists them)."""

from __future__ import annotations

from .definition import (
    COUNTER,
    EVALUATION_BUCKETS,
    EVENT_OUTCOMES,
    EVENT_REJECT_REASONS,
    EVENT_TYPES,
    EVICTION_REASONS,
    FEEDBACK_REJECT_REASONS,
    GAUGE,
    HISTOGRAM,
    LABEL_DELAY_BUCKETS,
    LABEL_OUTCOMES,
    MODEL,
    MODEL_FILE_OUTCOMES,
    MODEL_FILE_STATES,
    OBJECT_OUTCOMES,
    OTHER_COMPONENTS,
    UNVERSIONED_REASONS,
    WINDOW_RESET_REASONS,
    declare,
)

_INGEST = "Ingestion"
EVENTS = declare(
    "driftline_events",
    COUNTER,
    "Inference logger events by outcome.",
    (*MODEL, "type", "outcome"),
    section=_INGEST,
    type=EVENT_TYPES,
    outcome=EVENT_OUTCOMES,
)
EVENTS_REJECTED = declare(
    "driftline_events_rejected",
    COUNTER,
    "Events rejected, by reason.",
    ("reason",),
    section=_INGEST,
    reason=EVENT_REJECT_REASONS,
)
LONG_VALUES = declare(
    "driftline_long_values",
    COUNTER,
    "Category values longer than 256 characters, binned as __other__ without being kept.",
    section=_INGEST,
)
EVALUATION_DURATION = declare(
    "driftline_evaluation_duration_seconds",
    HISTOGRAM,
    "Duration of one drift evaluation of one model.",
    section=_INGEST,
    buckets=EVALUATION_BUCKETS,
)
OTHER_COMPONENT_EVENTS = declare(
    "driftline_other_component_events",
    COUNTER,
    "Events logged by another component of the InferenceService than exporter.component (a transformer's raw "
    "rows, an explainer's), counted and not windowed; other: a component KServe does not name.",
    (*MODEL, "component"),
    section=_INGEST,
    component=OTHER_COMPONENTS,
)
LOG_OBJECTS = declare(
    "driftline_log_objects",
    COUNTER,
    "Archived payload objects read from S3 in pull mode, by outcome: processed, or quarantined (unreadable, over "
    "max_object_bytes or a decoding limit, or without one usable record; skipped for good, named in the log).",
    (*MODEL, "outcome"),
    section=_INGEST,
    outcome=OBJECT_OUTCOMES,
)

UNVERSIONED_EVENTS = declare(
    "driftline_unversioned_events",
    COUNTER,
    "Events of a model with versions that no version's window took: the event named no version, more than "
    "versions.max_versions served at once, or (source: response) the request's response never named one.",
    (*MODEL, "reason"),
    section=_INGEST,
    reason=UNVERSIONED_REASONS,
)

_STATE = "Window state"
WINDOW_RESETS = declare(
    "driftline_window_resets",
    COUNTER,
    "Windows that started empty: the profile changed (its bins are new), the checkpoint was unreadable (moved "
    "aside), or it was written for another window layout (window.size changed).",
    (*MODEL, "reason"),
    section=_STATE,
    reason=WINDOW_RESET_REASONS,
)
WINDOW_RESTORES = declare(
    "driftline_window_restores",
    COUNTER,
    "Windows restored from their checkpoint when the profile loaded.",
    section=_STATE,
)
CHECKPOINT_TIMESTAMP = declare(
    "driftline_checkpoint_last_success_timestamp_seconds",
    GAUGE,
    "Unix time the windows were last checkpointed to exporter.state_dir.",
    (),
    section=_STATE,
)
CHECKPOINT_ERRORS = declare(
    "driftline_checkpoint_errors",
    COUNTER,
    "Checkpoints that could not be written (the previous one stays).",
    (),
    section=_STATE,
)

_REFERENCES = "Reference loads"
REFERENCE_SWAPS = declare(
    "driftline_reference_swaps",
    COUNTER,
    "Reference profiles replaced while running: a new object at reference.profile, or the registry alias it follows "
    "moved to another model version.",
    section=_REFERENCES,
)
REFERENCE_LOAD_ERRORS = declare(
    "driftline_reference_load_errors",
    COUNTER,
    "Reference profile loads or checks that failed (storage or the MLflow registry unreachable or refusing, a profile "
    "that does not fit); a profile already loaded keeps serving.",
    section=_REFERENCES,
)

_MODEL_FILES = "Model files"
MODEL_FILES = declare(
    "driftline_model_files",
    GAUGE,
    "Team model files in model_files.dir, by state: loaded, or refused (a problem in the file, or a model another "
    "file already defines; its models are not monitored, the others are).",
    ("state",),
    section=_MODEL_FILES,
    state=MODEL_FILE_STATES,
)
MODEL_FILE_CHANGES = declare(
    "driftline_model_file_changes",
    COUNTER,
    "Changes to the model files the exporter applied while running (models started, changed or retired), or refused "
    "(a file that cannot be used: counted once per version of the file).",
    ("outcome",),
    section=_MODEL_FILES,
    outcome=MODEL_FILE_OUTCOMES,
)

_FEEDBACK = "Ground truth"
LABELS = declare(
    "driftline_labels",
    COUNTER,
    "Labels received, by outcome of joining them to stored predictions.",
    (*MODEL, "outcome"),
    section=_FEEDBACK,
    outcome=LABEL_OUTCOMES,
)
FEEDBACK_REJECTED = declare(
    "driftline_feedback_rejected",
    COUNTER,
    "Feedback documents or label rows rejected, by reason.",
    ("reason",),
    section=_FEEDBACK,
    reason=FEEDBACK_REJECT_REASONS,
)
LABEL_DELAY = declare(
    "driftline_label_delay_seconds",
    HISTOGRAM,
    "Time from a prediction to its label becoming known.",
    section=_FEEDBACK,
    buckets=LABEL_DELAY_BUCKETS,
)
PREDICTION_STORE_ROWS = declare(
    "driftline_prediction_store_rows", GAUGE, "Predictions held for joining with labels.", section=_FEEDBACK
)
PREDICTION_STORE_CAPACITY = declare(
    "driftline_prediction_store_capacity_rows", GAUGE, "The model's feedback.store_size.", section=_FEEDBACK
)
PREDICTION_STORE_EVICTIONS = declare(
    "driftline_prediction_store_evictions",
    COUNTER,
    "Predictions dropped unlabelled: by size (overwritten) or ttl (older than feedback.ttl).",
    (*MODEL, "reason"),
    section=_FEEDBACK,
    reason=EVICTION_REASONS,
)
LABEL_OBJECTS = declare(
    "driftline_label_objects",
    COUNTER,
    "Label files read from feedback.s3_labels in pull mode, by outcome: processed, or quarantined (unreadable, over "
    "max_object_bytes or a decoding limit; skipped for good, named in the log).",
    (*MODEL, "outcome"),
    section=_FEEDBACK,
    outcome=OBJECT_OUTCOMES,
)
