"""Pull mode: archived payloads (``source``) and label files (``feedback.labels``) read from S3 on their own
threads and handed to the :class:`~exporters.intake.Intake` as if they had been delivered. A bad record is counted,
the rest of its object used."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from drift.config import MonitorConfig
from drift.errors import DriftlineError

from .feedback import FeedbackError, Label, read_labels
from .instruments import ExporterInstruments
from .intake import Intake
from .model import MonitoredModel
from .s3labels import LabelPuller
from .s3logs import BadRecord, LogPuller
from .stream import ModelKey

log = logging.getLogger("driftline.exporter")


class Pulls:
    def __init__(
        self,
        config: MonitorConfig,
        models: Mapping[ModelKey, MonitoredModel],
        instruments: ExporterInstruments,
        intake: Intake,
        now: float,
    ) -> None:
        self.intake = intake
        self.instruments = instruments
        self.s3 = config.s3
        self.logs: list[LogPuller] = []
        self.labels: list[tuple[MonitoredModel, LabelPuller]] = []
        self.follow(models, now)

    def follow(self, models: Mapping[ModelKey, MonitoredModel], now: float) -> None:
        """Poll the sources of ``models`` from now on: a puller whose source is unchanged goes on from where it is,
        a new source starts at its watermark, a retired model's stops (the lists are replaced, not changed)."""
        logs = {(p.model.name, p.model.namespace, p.source): p for p in self.logs}
        labels = {(m.key, p.source): p for m, p in self.labels}
        self.logs = [
            logs.get((key[0], key[1], m.model.source))
            or LogPuller(
                m.model,
                m.model.source,
                self.s3,
                now,
                self.instruments.object_counter(self.instruments.log_objects, key),
            )
            for key, m in models.items()
            if m.model.source is not None
        ]
        self.labels = [
            (
                m,
                labels.get((key, m.model.feedback.labels))
                or LabelPuller(
                    m.model,
                    m.model.feedback.labels,
                    self.s3,
                    now,
                    self.instruments.object_counter(self.instruments.label_objects, key),
                ),
            )
            for key, m in models.items()
            if m.ground_truth is not None and m.model.feedback.labels is not None
        ]

    def pull_logs(self) -> None:
        """One poll of every model's archived payloads that is due."""
        now = time.monotonic()
        for puller in self.logs:
            if not puller.due(now):
                continue
            try:
                for key, records in puller.poll():
                    for record in records:
                        if isinstance(record, BadRecord):
                            self.instruments.reject_event(record.reason)
                            continue
                        try:
                            self.intake.event(record)
                        except Exception:  # a bug with one record: the object's other records are used
                            log.exception("ingesting an archived record failed", extra={"key": key})
            except DriftlineError as exc:
                log.warning(
                    "cannot read archived payloads; retrying", extra={"model": puller.model.name, "error": str(exc)}
                )

    def pull_labels(self) -> None:
        """One poll of every model's label files that is due; a bad row is counted, the rest of its file joined."""
        now = time.monotonic()
        for model, puller in self.labels:
            if not puller.due(now):
                continue
            target = model.model.target
            assert target is not None
            try:
                for key, records in puller.poll():
                    good: list[Label] = []
                    for record in records:
                        try:
                            if isinstance(record, BadRecord):
                                raise FeedbackError(record.reason, record.message)
                            good.extend(read_labels(target, [record]))
                        except FeedbackError as exc:
                            self.instruments.reject_feedback(exc.reason)
                        except Exception:  # a bug with one label: the file's other labels are joined
                            log.exception("reading a label failed", extra={"model": puller.model.name, "key": key})
                            self.instruments.reject_feedback("invalid_label")
                    self.intake.join(model, tuple(good))
            except DriftlineError as exc:
                log.warning("cannot read label files; retrying", extra={"model": puller.model.name, "error": str(exc)})
