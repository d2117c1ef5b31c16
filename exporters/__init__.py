"""The exporter service: KServe logger CloudEvents in, drift metrics out on /metrics (docs/exporter.md)."""
