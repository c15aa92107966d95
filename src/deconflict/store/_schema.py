"""The SQLite schema of a Deconflict store, and how a file is recognised as one.

The ``events`` table is the record; ``parties``, ``measures``,
``declarations`` and the ``margins`` row of ``meta`` are the current state,
derived from it and written in the same transaction so they never disagree
with the log. Triggers make ``events`` append-only inside SQLite itself, so a
mistake in code cannot rewrite history (a person with the file still can:
that is what the hash chain is for).
"""

from __future__ import annotations

#: Bumped on any change a previous version could not read; a store with a
#: higher number is refused rather than misread.
SCHEMA_VERSION = 1
#: SQLite's header field for "which application's file is this": "DCNF".
APPLICATION_ID = 0x44434E46
APPLICATION = "deconflict"

# A list, not one script: ``executescript`` would commit the transaction that
# makes creating a store atomic against another process creating it too.
SCHEMA = (
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        type        TEXT NOT NULL,
        actor       TEXT NOT NULL,
        subject     TEXT NOT NULL,
        payload     TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    )""",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN
        SELECT RAISE(ABORT, 'events are append-only: a recorded event cannot be changed');
    END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN
        SELECT RAISE(ABORT, 'events are append-only: a recorded event cannot be deleted');
    END""",
    # In the state tables ``seq`` is the last event that wrote the row, and
    # ``window_*`` use the events' fixed-width UTC text so they compare as times.
    """CREATE TABLE parties (
        id   TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        doc  TEXT NOT NULL
    )""",
    """CREATE TABLE measures (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        owner        TEXT NOT NULL,
        window_start TEXT NOT NULL,
        window_end   TEXT NOT NULL,
        seq          INTEGER NOT NULL,
        doc          TEXT NOT NULL
    )""",
    """CREATE TABLE declarations (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        owner        TEXT NOT NULL,
        window_start TEXT NOT NULL,
        window_end   TEXT NOT NULL,
        seq          INTEGER NOT NULL,
        doc          TEXT NOT NULL
    )""",
    "CREATE INDEX declarations_owner ON declarations (owner)",
    f"INSERT INTO meta (key, value) VALUES ('application', '{APPLICATION}')",
    f"INSERT INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')",
    f"PRAGMA application_id = {APPLICATION_ID}",
)

EVENT_COLUMNS = "seq, recorded_at, type, actor, subject, payload, prev_hash, hash"
