"""The same source tree without the Merkle log, signing and receipts: the
"without" side of the accountability benchmark (bench/http_load.py
--without-log, bench/append_cost.py). Put this folder first on PYTHONPATH;
Python imports ``sitecustomize`` at start-up, before the service.

Everything else (the hash chain, the state tables, the head row or head
record, the engine, HTTP) is the tree's own code, so the difference measured
is the log's alone. Verification at open passes: a log with no tree and no
checkpoint is what it accepts from a store made before the tree.
"""

from __future__ import annotations

import os
from typing import Any

from deconflict.store import sqlite


def _none(*_args: Any, **_kw: Any) -> None:
    return None


def _no_receipts(*_args: Any, **_kw: Any) -> dict[int, dict[str, Any]]:
    return {}


def _tables_only(self: sqlite.SQLiteStore, db: Any) -> None:
    # The tree's tables, never grown or signed at open (the store's own upgrade would sign).
    for statement in sqlite.tree.SCHEMA:
        db.execute(statement)


sqlite.SQLiteStore._open_tree = _tables_only  # type: ignore[method-assign]
sqlite.SQLiteStore._grow_tree = _none  # type: ignore[method-assign]
sqlite.SQLiteStore.receipts = _no_receipts  # type: ignore[method-assign]
# Only where the run is on PostgreSQL (bench/http_load.py --postgres, bench/append_cost.py):
# importing psycopg into an SQLite server would make the two sides differ by more than the log.
if os.environ.get("DECONFLICT_BENCH_POSTGRES"):
    from deconflict.store import _pg_merkle

    _pg_merkle.PgLog.upgrade = _none  # type: ignore[method-assign]
    _pg_merkle.PgLog.prepare = _none  # type: ignore[method-assign]
    _pg_merkle.PgLog.queue = _none  # type: ignore[method-assign]
    _pg_merkle.PgLog.committed = _none  # type: ignore[method-assign]
    _pg_merkle.PgLog.receipts = _no_receipts  # type: ignore[method-assign]
