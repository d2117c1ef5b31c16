"""A one-line progress meter on stderr for long reads (``driftline profile`` on a large file), shown only on a
terminal; the readers in :mod:`drift.reference.reader` report to it."""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress meter on stderr, shown only on a terminal; ``close`` prints the final count."""

    def __init__(self, label: str, total: int | None, *, unit: str = "bytes", enabled: bool | None = None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0
        self._state = (0, 0)

    def update(self, done: int, rows: int, force: bool = False) -> None:
        self._state = (done, rows)
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.2 and not force):
            return
        self._last = now
        if self.total:
            share = f"{min(done / self.total, 1.0):6.1%}"
            if self.unit == "bytes":
                amount = f"{done / 1e6:,.1f}/{self.total / 1e6:,.1f} MB"
            else:
                amount = f"{done:,}/{self.total:,}"
        else:
            share, amount = "", f"{done / 1e6:,.1f} MB"
        sys.stderr.write(f"\r{self.label}: {share} {amount}, {rows:,} rows")
        sys.stderr.flush()

    def close(self, finished: bool) -> None:
        if self.enabled:
            if finished:
                self.update(self.total or self._state[0], self._state[1], force=True)
            sys.stderr.write("\n")
