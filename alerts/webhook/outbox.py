"""The durable outbox: every decision to start a retraining is a row in SQLite before Alertmanager hears "200".

A row's life::

    pending ──claim──► sending ──2xx──► delivered
       ▲                  │
       └──retry (5xx, timeout, rate limit: next_attempt_at)
                          └──final 4xx / gave up──► failed

``claim`` commits ``sending`` (and the attempt number) *before* the HTTP call. A process that dies holding a
``sending`` row left its outcome unknown; the next start moves it back to ``pending`` and sends it again, with the
same ``dispatch_id`` in the payload so the receiving workflow can tell. A row is never sent while another process
or thread holds it, and a ``delivered`` row is never sent again. The unique ``dedupe_key`` makes accepting the same
incident twice impossible, whatever the interleaving.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1
STATES = ("pending", "sending", "delivered", "failed")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS dispatches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dispatch_id TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    namespace TEXT NOT NULL,
    target TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS dispatches_due ON dispatches (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS dispatches_model ON dispatches (namespace, model, created_at);
"""


class OutboxInUseError(RuntimeError):
    """Another process holds the outbox."""


@dataclass(frozen=True)
class Dispatch:
    id: int
    dispatch_id: str
    model: str
    namespace: str
    target: str
    request: dict[str, Any]
    state: str
    attempts: int
    created_at: float


class Outbox:
    """Thread-safe access to the outbox database (one connection, serialised; SQLite WAL, synchronous=FULL)."""

    def __init__(self, path: str) -> None:
        # Readable by the webhook's user only (SQLite gives its -wal and -shm files the database's mode).
        self._owner = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            # One process per outbox: a second webhook on the same file would claim rows the first one is sending
            # and wedge both delivery workers. flock is held for the life of this object (SQLite's own locks are
            # fcntl byte ranges, which flock does not touch); the kernel drops it when the process dies.
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._owner)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise OutboxInUseError(
                    f"{path} is used by another webhook process; run one webhook per outbox (one replica, "
                    "Deployment strategy Recreate)"
                ) from None
            raise
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before Alertmanager gets its 2xx
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{path}: written by a newer driftline (schema {version}); upgrade driftline")
        if version == 0:
            self._db.executescript(_SCHEMA)  # idempotent: IF NOT EXISTS
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. Whatever fails — a statement, or the COMMIT itself on a full disk — is rolled back,
        so the connection is never left inside a transaction and the next call starts clean."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._owner >= 0:
                os.close(self._owner)  # releases the flock
                self._owner = -1

    def accept(
        self,
        *,
        dispatch_id: str,
        dedupe_key: str,
        model: str,
        namespace: str,
        target: str,
        request: dict[str, Any],
        cooldown: float,
        now: float | None = None,
    ) -> str:
        """Record a dispatch unless it is a duplicate or inside the model's cooldown. Returns the outcome:
        ``dispatched``, ``duplicate`` or ``cooldown``. The row is committed when this returns."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM dispatches WHERE dedupe_key = ?", (dedupe_key,)).fetchone():
                return "duplicate"
            recent = db.execute(
                "SELECT 1 FROM dispatches WHERE model = ? AND namespace = ? AND target = ? AND state != 'failed' "
                "AND created_at > ?",
                (model, namespace, target, now - cooldown),
            ).fetchone()
            if recent:
                return "cooldown"
            db.execute(
                "INSERT INTO dispatches (dispatch_id, dedupe_key, model, namespace, target, request, state, "
                "created_at, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                (dispatch_id, dedupe_key, model, namespace, target, json.dumps(request), now, now, now),
            )
            return "dispatched"

    def recover(self) -> int:
        """At start: rows a dead process left in ``sending`` go back to ``pending``. Returns how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE dispatches SET state = 'pending', updated_at = ?, "
                "last_error = 'outcome unknown: the process stopped during delivery' WHERE state = 'sending'",
                (time.time(),),
            )
            return cursor.rowcount

    def claim(self, now: float | None = None) -> Dispatch | None:
        """The oldest due ``pending`` row, moved to ``sending`` with its attempt counted; None when nothing is due."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, dispatch_id, model, namespace, target, request, attempts, created_at FROM dispatches "
                "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE dispatches SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                (now, row[0]),
            )
        return Dispatch(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), "sending", row[6] + 1, row[7])

    def delivered(self, dispatch: Dispatch) -> None:
        now = time.time()
        self._finish(dispatch, "state = 'delivered', delivered_at = ?, last_error = NULL", (now,))

    def retry(self, dispatch: Dispatch, at: float, error: str) -> None:
        self._finish(dispatch, "state = 'pending', next_attempt_at = ?, last_error = ?", (at, error))

    def failed(self, dispatch: Dispatch, error: str) -> None:
        self._finish(dispatch, "state = 'failed', last_error = ?", (error,))

    def _finish(self, dispatch: Dispatch, assignment: str, values: tuple[Any, ...]) -> None:
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE dispatches SET {assignment}, updated_at = ? WHERE id = ? AND state = 'sending'",  # noqa: S608
                (*values, time.time(), dispatch.id),
            )
            if cursor.rowcount != 1:
                raise RuntimeError(f"dispatch {dispatch.dispatch_id} was not in state sending")

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(next_attempt_at) FROM dispatches WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM dispatches GROUP BY state").fetchall()
        counts = dict.fromkeys(STATES, 0)
        counts.update({state: int(n) for state, n in rows})
        return counts

    def rows(self) -> list[dict[str, Any]]:
        """Every row, oldest first (for tests and operators)."""
        with self._lock:
            cursor = self._db.execute("SELECT * FROM dispatches ORDER BY id")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
