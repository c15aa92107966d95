"""The investigator's bundle: one file with the log, its checkpoints, the
witnesses' cosignatures and the public keys, verifiable offline.

The bundle is an SQLite database (a consistent copy of the store made with
``VACUUM INTO``, so it is the very bytes that were hashed) plus a table
``bundle`` holding the log's and the witnesses' public keys and the last
published checkpoint. ``deconflict audit verify --bundle FILE`` runs the same
checks as at a store's open (:mod:`deconflict.store.vouch`): the chain, the
tree against every signed checkpoint, the state tables, and every
cosignature against its witness's key. Keys given with ``--key`` are pinned:
the bundle's own keys are then only used if they are the same.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deconflict.errors import StoreError, TamperedLog
from deconflict.store import vouch as vouching
from deconflict.store.note import NoteError, Verifier, check_cosignature, parse_verifier
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore


def write_bundle(store: Store, out: Path) -> int:
    """Write the bundle of ``store`` to ``out``; returns the number of events.

    From the PostgreSQL store, the same SQLite layout is written from one
    snapshot (store/_pg_merkle.py: copy_to_sqlite), so one verifier reads both."""
    if out.exists():
        raise StoreError(f"{out} exists; give a new file")
    head = store.published_checkpoint() or ""
    if isinstance(store, SQLiteStore):
        src = sqlite3.connect(store.path, isolation_level=None)
        try:
            src.execute("VACUUM INTO ?", (str(out),))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the bundle {out}: {exc}") from None
        finally:
            src.close()
    else:
        from deconflict.store.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        store._log.copy_to_sqlite(out)
    db = sqlite3.connect(out, isolation_level=None)
    try:
        db.execute("CREATE TABLE bundle (kind TEXT NOT NULL, value TEXT NOT NULL)")
        db.executemany("INSERT INTO bundle VALUES ('log_key', ?)", [(v.encode(),) for v in store.verifiers()])
        db.executemany("INSERT INTO bundle VALUES ('witness_key', ?)", [(k,) for k in store.witness_keys()])
        if head:
            db.execute("INSERT INTO bundle VALUES ('published', ?)", (head,))
        n = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        db.close()
    return n


@dataclass
class BundleReport:
    log: vouching.Report
    keys: list[str]
    pinned: bool
    cosignatures: int = 0
    witnesses: list[str] = field(default_factory=list)


def verify_bundle(path: Path, pinned: Sequence[Verifier] = ()) -> BundleReport:
    if not path.is_file():
        raise StoreError(f"{path}: no such bundle")
    db = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        try:
            rows = db.execute("SELECT kind, value FROM bundle").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{path} is not a Deconflict bundle ({exc})") from None
        try:
            own = [parse_verifier(v) for k, v in rows if k == "log_key"]
            witnesses = {parse_verifier(v).name: parse_verifier(v) for k, v in rows if k == "witness_key"}
        except NoteError as exc:
            raise TamperedLog(0, f"a key in the bundle is malformed: {exc}") from None
        if pinned and not set(own) & set(pinned):
            raise TamperedLog(0, "the bundle's log keys are not the ones you gave: it is not that log's")
        keys = list(pinned) or own
        held = [v for k, v in rows if k == "published"]
        db.execute("BEGIN")
        report = vouching.vouch(db, path, keys, held)
        n = 0
        for size, line in db.execute("SELECT size, line FROM cosignatures ORDER BY size, witness"):
            # Stored as the checkpoint's text, a blank line, the cosignature line.
            body = str(line)
            cut = body.find("\n\n\u2014 ")
            if cut < 0:
                raise TamperedLog(0, f"a cosignature of the checkpoint of {size} events is malformed")
            text, sig = body[: cut + 1], body[cut + 2:]
            name = sig[2:].split(" ", 1)[0]
            w = witnesses.get(name)
            if w is None:
                raise TamperedLog(0, f"a cosignature by {name} has no key in the bundle")
            try:
                check_cosignature(text, sig, w)
            except NoteError as exc:
                raise TamperedLog(int(size), f"a cosignature does not verify: {exc}") from None
            n += 1
        return BundleReport(report, [v.encode() for v in keys], bool(pinned), n, sorted(witnesses))
    finally:
        with contextlib.suppress(sqlite3.Error):
            db.close()
