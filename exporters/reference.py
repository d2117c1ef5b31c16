"""A reference slot: where one profile is read from and what was last read there.

Each stream has one (its windows are counted against it); a model with serving versions and a ``reference.profile``
without ``{version}`` has one more of its own, which its quality is compared with. :class:`~exporters.references.
ReferenceLoader` fills them and keeps their retry state.
"""

from __future__ import annotations

from collections.abc import Callable

from drift.config import ModelConfig
from drift.reference.profile import ReferenceProfile

ProfileTaken = Callable[[ReferenceProfile], str]  # what a slot does with a new profile; returns the window outcome


class Reference:
    def __init__(
        self, model: ModelConfig, version: str = "", take: ProfileTaken | None = None, must_name_version: bool = False
    ) -> None:
        self.model = model
        self.uri = model.reference.profile
        self.version = version
        # A version reading the model's own reference.profile: that profile must record this version.
        self.must_name_version = must_name_version
        self._take = take
        self.profile: ReferenceProfile | None = None
        self.tag: str | None = None  # the ETag or mtime the profile was read at; from the registry: version and place
        self.error: str | None = None  # why the last load or check failed (a loaded profile keeps serving)
        self.registry_version = ""  # the MLflow model version the profile came from (uri is models:/…)

    def take(self, profile: ReferenceProfile, tag: str | None, registry_version: str = "") -> str:
        """Serve ``profile`` from now on; returns what became of the windows counted so far (``"empty"`` for a slot
        without windows)."""
        outcome = self._take(profile) if self._take is not None else "empty"
        self.profile, self.tag, self.error, self.registry_version = profile, tag, None, registry_version
        return outcome

    @property
    def tried(self) -> bool:
        """Whether a load has ended, loaded or failed (a version seen a moment ago: not yet)."""
        return self.profile is not None or self.error is not None
