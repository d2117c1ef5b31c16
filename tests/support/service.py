"""Reading an in-process exporter's runtime from a test."""

from __future__ import annotations

from exporters.service import ExporterService
from exporters.stream import Stream


def only_stream(service: ExporterService) -> Stream:
    """The one stream of a service's one model without versions."""
    (model,) = service.models.values()
    (stream,) = model.streams
    return stream


def stream_versions(service: ExporterService) -> list[str]:
    """The serving versions that have a stream now, in the order they appeared, across the service's models."""
    return [stream.version for model in service.models.values() for stream in model.streams]
