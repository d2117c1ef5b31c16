"""The reference loader: every reference slot of every model kept loaded, retried with backoff when a load fails,
and swapped when its object changes (by ETag or mtime). One model's profile — unreadable, hostile, or a bug reading
it — never stops the others'."""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from drift.boundary import shown
from drift.config import MonitorConfig
from drift.errors import DriftlineError, ProfileError, StorageError
from drift.reference.profile import PROFILE_LIMITS, ReferenceProfile
from drift.reference.registry import Registry, RegistryReference, is_registry
from drift.reference.storage import object_tag, read_bytes

from .instruments import ExporterInstruments
from .model import MonitoredModel
from .reference import Reference
from .stream import ModelKey

log = logging.getLogger("driftline.exporter")
MAX_BACKOFF = 60.0


@dataclass
class _Retry:
    next_attempt: float = 0.0
    backoff: float = 1.0


class ReferenceLoader:
    def __init__(self, config: MonitorConfig, instruments: ExporterInstruments) -> None:
        self.s3 = config.s3
        self.check_every = config.exporter.reference_check_every.seconds
        self.config_source = config.source
        self.instruments = instruments
        # A retired version's slot is forgotten with it.
        self._retries: weakref.WeakKeyDictionary[Reference, _Retry] = weakref.WeakKeyDictionary()
        self._mlflow: Registry | None = None

    def _registry(self) -> Registry:
        """The MLflow registry (``MLFLOW_TRACKING_URI``), made on first use: a config without models:/ needs none."""
        if self._mlflow is None:
            self._mlflow = Registry()
        return self._mlflow

    def refresh(self, models: Iterable[MonitoredModel], now: float) -> bool:
        """Load the slots that are due; returns whether any slot's profile or error changed."""
        tick = time.monotonic()
        changed = False
        for model in models:
            for slot in model.references():
                retry = self._retries.setdefault(slot, _Retry())
                if tick < retry.next_attempt:
                    continue
                before = (slot.profile, slot.error)
                try:
                    self._load(slot, retry, tick)
                except DriftlineError as exc:
                    self._failed(model, slot, retry, tick, now, str(exc) + self._build_hint(slot, exc), _definite(exc))
                except Exception as exc:  # a bug: logged with its traceback, retried with the same backoff
                    log.exception("reference profile load failed", extra={"model": slot.model.name})
                    self._failed(model, slot, retry, tick, now, f"internal error: {shown(str(exc), 120)}", False)
                changed = changed or before != (slot.profile, slot.error)
        return changed

    def _load(self, slot: Reference, retry: _Retry, tick: float) -> None:
        uri, model = slot.uri, slot.model
        registered = self._registry().version(RegistryReference.parse(uri)) if is_registry(uri) else None
        # a registry version's profile is read once: the version and where its profile is say whether it is new
        source = self._registry().profile_of(registered) if registered else uri
        current = f"{registered.uri} {source}" if registered else object_tag(uri, self.s3)
        if slot.profile is not None and current == slot.tag:
            if slot.error is not None:
                log.info("reference profile source reachable again", extra={"model": model.name, "source": uri})
            slot.error = None
            retry.backoff, retry.next_attempt = 1.0, tick + self.check_every
            return
        if registered:
            data, _ = self._registry().read(source, self.s3, PROFILE_LIMITS.max_bytes)
            tag = current
        else:
            data, tag = read_bytes(uri, self.s3, PROFILE_LIMITS.max_bytes)
        profile = ReferenceProfile.from_json(data, origin=source)
        profile.require_compatible(model, origin=source)
        if slot.version:
            require_version(profile, slot, source)
        previous = slot.profile
        outcome = slot.take(profile, tag, registered.version if registered else "")
        self._report_window(slot, outcome, profile)
        retry.backoff, retry.next_attempt = 1.0, tick + self.check_every
        if previous is not None:
            self.instruments.reference_swaps.labels(model.name, model.namespace).inc()
        log.info(
            "reference profile swapped" if previous else "reference profile loaded",
            extra={
                "model": model.name,
                "model_version": slot.version or None,
                "version": profile.version,
                "source": uri,
                **({"registry_version": registered.version, "profile": source} if registered else {}),
            },
        )
        if model.target is not None and not profile.serves_target(model):
            log.warning(
                "the profile has no reference quality for the configured target; rebuild it with driftline profile",
                extra={"model": model.name, "target": model.target.name, "source": uri},
            )

    def _failed(
        self, model: MonitoredModel, slot: Reference, retry: _Retry, tick: float, now: float, error: str, definite: bool
    ) -> None:
        """A profile that did not load: retried with exponential backoff. A serving version nobody configured whose
        reference does not exist (``definite``) gives its slot back at once and is refused for a while."""
        if definite and slot.version and not model.streams.listed(slot.version):
            model.streams.refuse(slot.version, now, self.check_every)
            log.warning(
                "a model version without a reference: its events are counted, not windowed",
                extra={"model": slot.model.name, "model_version": slot.version, "error": error},
            )
            return
        slot.error = error
        retry.next_attempt = tick + retry.backoff
        self.instruments.reference_load_errors.labels(model.model.name, model.model.namespace).inc()
        log.warning(
            "reference profile not refreshed; the loaded one keeps serving; retrying"
            if slot.profile is not None
            else "reference profile not loaded; retrying",
            extra={
                "model": slot.model.name,
                "model_version": slot.version or None,
                "error": error,
                "retry_in_s": retry.backoff,
            },
        )
        retry.backoff = min(retry.backoff * 2, MAX_BACKOFF)

    def _build_hint(self, slot: Reference, error: DriftlineError) -> str:
        """For a profile that does not exist: the command that builds it."""
        if not isinstance(error, StorageError) or not error.missing:
            return ""
        version = f" --model-version {slot.version}" if slot.version else ""
        config = self.config_source or "CFG"
        return f"; build it with: driftline profile --config {config} --model {slot.model.name}{version}"

    def _report_window(self, slot: Reference, outcome: str, profile: ReferenceProfile) -> None:
        key: ModelKey = (slot.model.name, slot.model.namespace)
        where = {"model": key[0], "model_namespace": key[1], "version": profile.version}
        if outcome == "restored":
            self.instruments.window_restores.labels(*key).inc()
            log.info("window restored from its checkpoint", extra=where)
        elif outcome == "reset":
            self.instruments.window_resets.labels(*key, "new_profile").inc()
            log.info("new reference profile: the window starts empty (its counts were in the old bins)", extra=where)
        elif outcome == "layout_changed":
            self.instruments.window_resets.labels(*key, "layout_changed").inc()
            log.warning(
                "the checkpoint does not fit the window as configured now (window.size changed?): it starts empty",
                extra=where,
            )


def require_version(profile: ReferenceProfile, slot: Reference, uri: str) -> None:
    """A serving version is compared only with a profile of its own: one that records this version, or — listed
    for it or found by ``{version}`` — one that records none."""
    recorded = profile.model_version
    if recorded == slot.version or (not recorded and not slot.must_name_version):
        return
    if not slot.must_name_version:
        raise ProfileError(f"{uri}: built for model version {recorded!r}, not {slot.version!r}")
    holds = f"is model version {recorded!r}'s" if recorded else "records no model version"
    raise ProfileError(
        f"model version {slot.version!r} has no reference: reference.profile {uri} {holds}; list the version "
        "under versions.references, put {version} in reference.profile, or build its profile with --model-version"
    )


def _definite(error: DriftlineError) -> bool:
    """Whether a profile load failed for good (no such object, not this model's or version's, unreadable) rather
    than for now (S3 unreachable, denied)."""
    return not isinstance(error, StorageError) or error.missing
