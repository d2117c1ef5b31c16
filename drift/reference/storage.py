"""Reading and writing local files and S3 objects, with errors a person can act on.

S3 goes through boto3 (the default credential chain: environment, profile, IRSA web identity) and honours
``s3.endpoint_url`` for S3-compatible stores. Local writes are atomic: a temporary file in the same folder,
then ``os.replace``, so a reader never sees half a profile.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..boundary import InputError, open_regular
from ..boundary.limits import size_text
from ..config import S3Config
from ..errors import StorageError


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket or not key:
            raise StorageError(f"{uri}: not an S3 URI of the form s3://BUCKET/KEY")
        return cls(bucket, key)


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


@functools.lru_cache(maxsize=16)
def s3_client(s3: S3Config | None = None) -> Any:
    """A boto3 S3 client for the config's endpoint and region (cached: clients are thread-safe and slow to make)."""
    import boto3
    from botocore.config import Config

    s3 = s3 or S3Config()
    return boto3.session.Session().client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60),
    )


def describe_error(exc: BaseException, uri: str, action: str) -> StorageError:
    """Turn a boto3 / OS error into a one-line StorageError naming the URI and what to do."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return StorageError(f"{uri}: cannot {action}: {exc}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchKey", "404", "NotFound"):
            return StorageError(f"{uri}: no such object; check the bucket and key", missing=True)
        if code == "NoSuchBucket":
            return StorageError(f"{uri}: bucket does not exist; check the bucket name and s3.endpoint_url")
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled") or status == 403:
            return StorageError(
                f"{uri}: access denied ({action}); grant s3:{_permission(action)} on it to the credentials in use"
            )
        return StorageError(f"{uri}: cannot {action}: {code or status}: {error.get('Message', '')}".rstrip(": "))
    if isinstance(exc, NoCredentialsError):
        return StorageError(f"{uri}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a role")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{uri}: cannot {action}: {exc}")
    if isinstance(exc, FileNotFoundError):
        return StorageError(f"{uri}: no such file", missing=True)
    if isinstance(exc, PermissionError):
        return StorageError(f"{uri}: permission denied; cannot {action}")
    if isinstance(exc, IsADirectoryError):
        return StorageError(f"{uri}: is a folder, not a file")
    if isinstance(exc, OSError):
        return StorageError(f"{uri}: cannot {action}: {exc.strerror or exc}")
    return StorageError(f"{uri}: cannot {action}: {exc}")


def _permission(action: str) -> str:
    return "PutObject" if action.startswith("write") else "GetObject"


@contextmanager
def storage_errors(uri: str, action: str) -> Iterator[None]:
    """Re-raise boto3 and OS errors inside the block as a StorageError about ``uri``."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError | BotoCoreError | OSError):
            raise describe_error(exc, uri, action) from exc
        raise


def read_bytes(uri: str, s3: S3Config | None = None, max_bytes: int | None = None) -> tuple[bytes, str]:
    """The whole object and its version tag: the S3 ETag, or ``mtime-size`` of a local file. With ``max_bytes``, a
    larger object is refused (InputError ``too_large``) without being read; a local path must be a regular file."""
    with storage_errors(uri, "read it"):
        if is_s3(uri):
            loc = S3Location.parse(uri)
            response = s3_client(s3).get_object(Bucket=loc.bucket, Key=loc.key)
            body = response["Body"]
            try:
                if max_bytes is not None and int(response.get("ContentLength") or 0) > max_bytes:
                    _too_large(uri, int(response["ContentLength"]), max_bytes)
                data = body.read(max_bytes + 1) if max_bytes is not None else body.read()
            finally:
                body.close()
            if max_bytes is not None and len(data) > max_bytes:
                _too_large(uri, len(data), max_bytes)
            return data, str(response.get("ETag", "")).strip('"')
        with open_regular(uri) as fh:
            stat = os.fstat(fh.fileno())
            if max_bytes is not None and stat.st_size > max_bytes:
                _too_large(uri, stat.st_size, max_bytes)
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            _too_large(uri, len(data), max_bytes)
        return data, f"{stat.st_mtime_ns}-{stat.st_size}"


def _too_large(uri: str, size: int, limit: int) -> None:
    raise InputError("too_large", f"{uri}: {size:,} bytes, more than the {size_text(limit)} read at once")


def object_tag(uri: str, s3: S3Config | None = None) -> str:
    """The version tag of an object without reading it (S3 HEAD, or a local stat)."""
    with storage_errors(uri, "read it"):
        if is_s3(uri):
            loc = S3Location.parse(uri)
            return str(s3_client(s3).head_object(Bucket=loc.bucket, Key=loc.key).get("ETag", "")).strip('"')
        stat = Path(uri).stat()
        return f"{stat.st_mtime_ns}-{stat.st_size}"


def write_bytes(uri: str, data: bytes, s3: S3Config | None = None, content_type: str = "application/json") -> None:
    """Write an object atomically: S3 PUT, or a temporary file renamed over the target."""
    with storage_errors(uri, "write it"):
        if is_s3(uri):
            loc = S3Location.parse(uri)
            s3_client(s3).put_object(Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=content_type)
            return
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with storage_errors(path, "read it"), open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class OpenedObject:
    """A readable binary stream over a local file or an S3 object, its size and its version tag."""

    stream: IO[bytes]
    size: int | None
    tag: str


def open_stream(uri: str, s3: S3Config | None = None) -> OpenedObject:
    """A forward-only stream (CSV): S3 GET body or a local file."""
    with storage_errors(uri, "read it"):
        if is_s3(uri):
            loc = S3Location.parse(uri)
            response = s3_client(s3).get_object(Bucket=loc.bucket, Key=loc.key)
            return OpenedObject(
                response["Body"], response.get("ContentLength"), str(response.get("ETag", "")).strip('"')
            )
        fh = open_regular(uri)  # the caller owns and closes it; a FIFO would block the reader for ever
        return OpenedObject(fh, os.fstat(fh.fileno()).st_size, "")


def open_seekable(uri: str, s3: S3Config | None = None) -> OpenedObject:
    """A seekable stream (Parquet reads its footer first): S3 ranged GETs, or a local file."""
    with storage_errors(uri, "read it"):
        if is_s3(uri):
            loc = S3Location.parse(uri)
            # a one-byte GET rather than a HEAD: its errors say whether the bucket or the key is missing
            first = s3_client(s3).get_object(Bucket=loc.bucket, Key=loc.key, Range="bytes=0-0")
            first["Body"].read()
            size = int(str(first.get("ContentRange", "/0")).rpartition("/")[2])
            raw = S3RangeReader(s3_client(s3), loc, size, uri)
            stream = io.BufferedReader(raw, buffer_size=8 << 20)
            return OpenedObject(stream, raw.size, str(first.get("ETag", "")).strip('"'))
        fh = open_regular(uri)  # the caller owns and closes it; a FIFO would block the reader for ever
        return OpenedObject(fh, os.fstat(fh.fileno()).st_size, "")


class S3RangeReader(io.RawIOBase):
    """A seekable read-only file over an S3 object, one ranged GET per read: Parquet fetches only what it needs."""

    def __init__(self, client: Any, location: S3Location, size: int, uri: str) -> None:
        self._client, self._loc, self.size, self._uri, self._pos = client, location, size, uri, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self.size or len(view) == 0:
            return 0
        end = min(self.size, self._pos + len(view)) - 1
        with storage_errors(self._uri, "read it"):
            body = self._client.get_object(Bucket=self._loc.bucket, Key=self._loc.key, Range=f"bytes={self._pos}-{end}")
            data = body["Body"].read()
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)
