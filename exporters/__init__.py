"""The exporter service: KServe logger CloudEvents in, drift metrics out on /metrics (see the exporter issue)."""
