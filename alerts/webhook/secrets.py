"""Resolving secret references (``env:NAME``, ``file:PATH``, ``secretsmanager:ARN-or-name``) at run time.

The config only ever holds the reference. Values are read when a service needs them and cached for a short while,
so a rotated Kubernetes Secret (a re-mounted file) or a new Secrets Manager version is picked up without a restart.
A value never appears in a log line or an error message; only the reference does.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from drift.config import SecretRef
from drift.errors import DriftlineError


class SecretError(DriftlineError):
    """A secret reference that cannot be resolved; the message names the reference, never a value."""


def resolve_secret(ref: SecretRef, region: str | None = None) -> str:
    if ref.scheme == "env":
        value = os.environ.get(ref.target)
        if not value:
            raise SecretError(f"{ref}: the environment variable {ref.target} is not set or empty")
        return value.strip()
    if ref.scheme == "file":
        try:
            with open(ref.target, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise SecretError(f"{ref}: cannot read the file: {exc.strerror or exc}") from None
        if not value:
            raise SecretError(f"{ref}: the file is empty")
        return value
    return _secrets_manager(ref, region)


def _secrets_manager(ref: SecretRef, region: str | None) -> str:
    import boto3
    import botocore.exceptions

    # AWS_ENDPOINT_URL_SECRETS_MANAGER (boto3's service-specific endpoint variable) points this at a test server.
    client: Any = boto3.client("secretsmanager", region_name=region or os.environ.get("AWS_REGION") or "us-east-1")
    try:
        answer = client.get_secret_value(SecretId=ref.target)
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretError(f"{ref}: AWS Secrets Manager answered {code}; check the name and the IAM policy") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise SecretError(f"{ref}: cannot reach AWS Secrets Manager: {exc}") from None
    value = answer.get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"{ref}: the secret has no string value")
    return value.strip()


class CachedSecret:
    """A secret value re-resolved at most every ``ttl`` seconds; thread-safe."""

    def __init__(self, ref: SecretRef, region: str | None = None, ttl: float = 60.0) -> None:
        self.ref = ref
        self._region = region
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires = 0.0

    def get(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._value is None or now >= self._expires:
                try:
                    self._value = resolve_secret(self.ref, self._region)
                except SecretError:
                    if self._value is None:
                        raise
                    # keep serving the last good value while the source is briefly unavailable
                self._expires = now + self._ttl
            return self._value
