"""Reference profiles in the MLflow Model Registry: a model version carries its profile, and ``reference.profile``
may name a version — ``models:/NAME/VERSION`` — or follow an alias — ``models:/NAME@ALIAS`` (``champion``), so that
promoting a version in the registry moves the reference with it.

A version's profile is an artifact of its training run (``driftline/profile.json``), and the version records where:
its tag ``driftline.profile`` holds the artifact's URI. The URI is what MLflow reports for the run's artifacts —
``s3://…`` when the server hands out its store's location, ``mlflow-artifacts:/…`` when it proxies them — and is read
directly (S3, a path) or through the tracking server's artifact proxy.

Through MLflow's REST API over ``requests`` (a core dependency), not the ``mlflow`` client: the exporter needs four
calls, and the client (``mlflow-skinny`` 3.17: 41 packages in a fresh environment) would nearly double the core
install. The tracking server is ``MLFLOW_TRACKING_URI``, its credentials MLflow's own variables:
``MLFLOW_TRACKING_TOKEN`` (a bearer token) or ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``;
``MLFLOW_TRACKING_INSECURE_TLS=true`` skips certificate checks. Nothing of them is ever logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..boundary import shown
from ..config import S3Config
from ..config.values import REGISTRY_REFERENCE
from ..errors import ProfileError, StorageError
from .storage import is_s3, read_bytes, write_bytes

SCHEME = "models:/"
PROFILE_TAG = "driftline.profile"  # on a model version: its profile artifact's URI
PROFILE_ARTIFACT = "driftline/profile.json"  # where in the run's artifacts the profile is logged
TRACKING_URI = "MLFLOW_TRACKING_URI"
TIMEOUT = (5.0, 30.0)  # connect, read
MAX_RESPONSE_BYTES = 1024 * 1024  # a registry answer is a few kB; a larger one is not the registry's


def is_registry(uri: str) -> bool:
    return uri.startswith(SCHEME)


@dataclass(frozen=True)
class RegistryReference:
    """``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``."""

    name: str
    version: str | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, uri: str) -> RegistryReference:
        if not re.fullmatch(REGISTRY_REFERENCE, uri):
            raise ValueError(f"{shown(uri, 80)} is not models:/NAME/VERSION or models:/NAME@ALIAS")
        rest = uri.removeprefix(SCHEME)
        if "@" in rest:
            name, _, alias = rest.partition("@")
            return cls(name, alias=alias)
        name, _, version = rest.rpartition("/")
        return cls(name, version=version)

    def __str__(self) -> str:
        return f"{SCHEME}{self.name}@{self.alias}" if self.alias else f"{SCHEME}{self.name}/{self.version}"


@dataclass(frozen=True)
class RegisteredVersion:
    """One model version as the registry describes it."""

    name: str
    version: str
    run_id: str
    profile: str | None  # its ``driftline.profile`` tag

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.name}/{self.version}"


class Registry:
    """The MLflow tracking server at ``tracking_uri`` (default: ``MLFLOW_TRACKING_URI``)."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        import requests

        uri = tracking_uri or os.environ.get(TRACKING_URI, "")
        if not re.match(r"https?://", uri):
            raise StorageError(
                f"no MLflow tracking server: set {TRACKING_URI} to its http(s):// address to read models:/ references"
            )
        self.url = uri.rstrip("/")
        self.session = requests.Session()
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif user and password:
            self.session.auth = (user, password)
        self.session.verify = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() != "true"

    # --- the REST calls ---

    def _call(self, method: str, path: str, what: str, **options: Any) -> Any:
        import requests

        try:
            with self.session.request(method, f"{self.url}{path}", timeout=TIMEOUT, stream=True, **options) as response:
                body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        except (requests.RequestException, OSError) as exc:
            raise StorageError(
                f"{what}: the MLflow registry at {self.url} is unreachable: {type(exc).__name__}"
            ) from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise StorageError(f"{what}: the MLflow registry's answer is larger than {MAX_RESPONSE_BYTES:,} bytes")
        message = _message(body)
        if response.status_code == 404 or (
            response.status_code == 400 and (b"RESOURCE_DOES_NOT_EXIST" in body or "not found" in message.lower())
        ):
            raise StorageError(f"{what}: not in the MLflow registry at {self.url} ({message})", missing=True)
        if response.status_code in (401, 403):
            raise StorageError(
                f"{what}: the MLflow registry refused the credentials ({response.status_code}); set "
                "MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
            )
        if response.status_code >= 300:
            raise StorageError(f"{what}: the MLflow registry answered {response.status_code}: {message}")
        return body

    def _json(self, method: str, path: str, what: str, **options: Any) -> dict[str, Any]:
        body = self._call(method, path, what, **options)
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            raise StorageError(f"{what}: the MLflow registry's answer is not JSON") from None
        if not isinstance(document, dict):
            raise StorageError(f"{what}: the MLflow registry's answer is not a JSON object")
        return document

    def version(self, reference: RegistryReference) -> RegisteredVersion:
        """The version ``reference`` names now (an alias: the version it points at this moment)."""
        params = {"name": reference.name}
        if reference.alias is not None:
            path, params["alias"] = "/api/2.0/mlflow/registered-models/alias", reference.alias
        else:
            path, params["version"] = "/api/2.0/mlflow/model-versions/get", str(reference.version)
        found = self._json("GET", path, str(reference), params=params).get("model_version")
        if not isinstance(found, dict) or not isinstance(found.get("version"), str | int):
            raise StorageError(f"{reference}: the MLflow registry's answer has no model_version")
        tags = {t.get("key"): t.get("value") for t in found.get("tags") or [] if isinstance(t, dict)}
        profile = tags.get(PROFILE_TAG)
        return RegisteredVersion(
            name=reference.name,
            version=str(found["version"]),
            run_id=str(found.get("run_id") or ""),
            profile=profile if isinstance(profile, str) and profile else None,
        )

    def profile_of(self, version: RegisteredVersion) -> str:
        """The URI of the profile ``version`` carries; ProfileError when it carries none."""
        if version.profile is None:
            raise ProfileError(
                f"{version.uri} carries no driftline profile (no {PROFILE_TAG} tag): attach one with driftline "
                f"attach-profile --profile URI --to {version.uri}"
            )
        return version.profile

    def read(self, uri: str, s3: S3Config | None, max_bytes: int) -> tuple[bytes, str]:
        """An artifact's bytes and tag: ``mlflow-artifacts:/…`` through the tracking server, others from storage."""
        if not uri.startswith(ARTIFACT_PROXY):
            return read_bytes(uri, s3, max_bytes)
        body = self._call("GET", _proxied(uri), uri)
        if len(body) > max_bytes:
            raise StorageError(f"{uri}: larger than {max_bytes:,} bytes")
        return body, hashlib.sha256(body).hexdigest()[:16]

    def artifact_root(self, run_id: str) -> str:
        """Where run ``run_id`` keeps its artifacts."""
        run = self._json("GET", "/api/2.0/mlflow/runs/get", f"run {run_id}", params={"run_id": run_id}).get("run")
        root = run.get("info", {}).get("artifact_uri") if isinstance(run, dict) else None
        if not isinstance(root, str) or not root:
            raise StorageError(f"run {run_id}: the MLflow registry's answer has no artifact_uri")
        return root.rstrip("/")

    def log_profile(self, run_id: str, data: bytes, s3: S3Config | None) -> str:
        """Log a profile as the run's ``driftline/profile.json`` artifact; returns its URI."""
        uri = f"{self.artifact_root(run_id)}/{PROFILE_ARTIFACT}"
        if uri.startswith(ARTIFACT_PROXY):
            self._call("PUT", _proxied(uri), uri, data=data, headers={"Content-Type": "application/json"})
        elif is_s3(uri) or "://" not in uri:
            write_bytes(uri.removeprefix("file://"), data, s3)
        else:
            raise StorageError(f"{uri}: driftline writes artifacts to s3://, a path or MLflow's artifact proxy only")
        return uri

    def tag_version(self, version: RegisteredVersion, key: str, value: str) -> None:
        body = {"name": version.name, "version": version.version, "key": key, "value": value}
        self._json("POST", "/api/2.0/mlflow/model-versions/set-tag", version.uri, json=body)


ARTIFACT_PROXY = "mlflow-artifacts:"


def _message(body: bytes) -> str:
    """What an MLflow error answer says (its JSON ``message``), cut and escaped: it is outside text."""
    try:
        document = json.loads(body)
    except ValueError:
        return shown(body.decode("utf-8", "replace"), 160)
    found = document.get("message") if isinstance(document, dict) else None
    return shown(found if isinstance(found, str) else body.decode("utf-8", "replace"), 160)


def attach(
    profile: bytes, reference: RegistryReference, s3: S3Config | None, registry: Registry | None = None
) -> RegisteredVersion:
    """Give a model version its profile: logged as its run's ``driftline/profile.json`` artifact, and the version
    tagged ``driftline.profile`` with the artifact's URI. ``reference``: a version, or the alias naming it now.
    Returns the version as tagged."""
    registry = registry or Registry()
    version = registry.version(reference)
    if not version.run_id:
        raise StorageError(
            f"{version.uri} has no training run to log the profile to; register the version from a run "
            "(mlflow.register_model(f'runs:/{run_id}/model', ...))"
        )
    uri = registry.log_profile(version.run_id, profile, s3)
    registry.tag_version(version, PROFILE_TAG, uri)
    return RegisteredVersion(version.name, version.version, version.run_id, uri)


def _proxied(uri: str) -> str:
    """The tracking server's path of a proxied artifact: ``mlflow-artifacts:/1/RUN/artifacts/x`` (or with a host,
    ``mlflow-artifacts://host:port/1/…``) is ``/api/2.0/mlflow-artifacts/artifacts/1/RUN/artifacts/x``."""
    rest = uri.removeprefix(ARTIFACT_PROXY)
    if rest.startswith("//"):
        rest = "/" + rest[2:].partition("/")[2]
    return f"/api/2.0/mlflow-artifacts/artifacts/{quote(rest.lstrip('/'))}"


__all__ = [
    "PROFILE_ARTIFACT",
    "PROFILE_TAG",
    "RegisteredVersion",
    "Registry",
    "RegistryReference",
    "is_registry",
]
