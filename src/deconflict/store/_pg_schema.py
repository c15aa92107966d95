"""The PostgreSQL schema of a Deconflict store, as numbered migrations.

Each migration is a list of statements applied in one transaction, with its
number recorded in ``schema_migrations``; a store opened by an older version
with migrations it does not know is refused rather than misread. Column types
stay in the subset CockroachDB and YugabyteDB share with PostgreSQL (TEXT,
BIGINT, INT, TIMESTAMPTZ); the event payload is TEXT, never JSONB, so the
stored bytes are the hashed bytes.

PostGIS (migration 3) is optional: it is applied only where the extension is
available, and nothing the service decides reads it.
"""

from __future__ import annotations

APPLICATION = "deconflict"

#: The key of the lock row taken by a writer that decides on everything
#: (a measure, a party, settings, anything of unbounded reach).
GLOBAL_LOCK = "global"

#: The role QGIS and SQL users read the picture views with.
READER_ROLE = "deconflict_reader"

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "the event log, the head, the lock rows and the state tables", (
        """CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE events (
            seq         BIGINT PRIMARY KEY,
            recorded_at TEXT NOT NULL,
            type        TEXT NOT NULL,
            actor       TEXT NOT NULL,
            subject     TEXT NOT NULL,
            payload     TEXT NOT NULL,
            prev_hash   TEXT NOT NULL,
            hash        TEXT NOT NULL
        )""",
        # One row: the last event. Every append locks and moves it, which
        # numbers events without gaps and records the head that ``verify``
        # compares the log's end with (a log cut short is detected).
        """CREATE TABLE head (
            id          INT PRIMARY KEY CHECK (id = 1),
            seq         BIGINT NOT NULL,
            recorded_at TEXT NOT NULL,
            hash        TEXT NOT NULL
        )""",
        "INSERT INTO head (id, seq, recorded_at, hash) VALUES (1, 0, '', '" + "0" * 64 + "')",
        # Rows that writers lock (SELECT ... FOR UPDATE) to decide one at a
        # time: 'global', and one per spatial cell ('c:<level>:<i>:<j>').
        """CREATE TABLE locks (
            key TEXT PRIMARY KEY
        )""",
        f"INSERT INTO locks (key) VALUES ('{GLOBAL_LOCK}')",
        """CREATE TABLE parties (
            id   TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            seq  BIGINT NOT NULL,
            doc  TEXT NOT NULL
        )""",
        """CREATE TABLE measures (
            id           TEXT PRIMARY KEY,
            kind         TEXT NOT NULL,
            owner        TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end   TEXT NOT NULL,
            seq          BIGINT NOT NULL,
            doc          TEXT NOT NULL
        )""",
        """CREATE TABLE declarations (
            id           TEXT PRIMARY KEY,
            kind         TEXT NOT NULL,
            owner        TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end   TEXT NOT NULL,
            seq          BIGINT NOT NULL,
            doc          TEXT NOT NULL
        )""",
        "CREATE INDEX declarations_owner ON declarations (owner)",
        f"INSERT INTO meta (key, value) VALUES ('application', '{APPLICATION}')",
    )),
    (2, "events are append-only inside PostgreSQL (a guard; other engines rely on grants)", (
        """CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are append-only: a recorded event cannot be changed or deleted';
        END $$""",
        """CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    )),
    (3, "PostGIS: geography columns with GiST indexes, read-only picture views and their role", (
        "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public",
        "ALTER TABLE declarations ADD COLUMN geog public.geography",
        "ALTER TABLE measures ADD COLUMN geog public.geography",
        "CREATE INDEX declarations_geog ON declarations USING GIST (geog)",
        "CREATE INDEX measures_geog ON measures USING GIST (geog)",
        # Filled from the stored document by the database itself: the store's
        # writes stay portable, and a shape PostGIS cannot read leaves NULL
        # rather than refusing a change the engine accepted.
        """CREATE FUNCTION set_geog() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE shape jsonb;
        BEGIN
            BEGIN
                shape := coalesce((NEW.doc::jsonb) -> 'geometry', (NEW.doc::jsonb) -> 'target');
                NEW.geog := public.ST_GeomFromGeoJSON(shape::text)::public.geography;
            EXCEPTION WHEN others THEN
                NEW.geog := NULL;
            END;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER declarations_set_geog BEFORE INSERT OR UPDATE OF doc ON declarations
            FOR EACH ROW EXECUTE FUNCTION set_geog()""",
        """CREATE TRIGGER measures_set_geog BEFORE INSERT OR UPDATE OF doc ON measures
            FOR EACH ROW EXECUTE FUNCTION set_geog()""",
        # What every party may see: declarations shared with all (share_with absent
        # or "all"), and measures. Nothing shared with some parties only.
        """CREATE VIEW picture_declarations AS
            SELECT id, kind, owner, window_start, window_end,
                   (replace(doc, '\\u0000', '')::jsonb) ->> 'label' AS label, geog
            FROM declarations
            WHERE coalesce(replace(doc, '\\u0000', '')::jsonb -> 'share_with', '"all"'::jsonb) = '"all"'::jsonb""",
        """CREATE VIEW picture_measures AS
            SELECT id, kind, owner, window_start, window_end,
                   (replace(doc, '\\u0000', '')::jsonb) ->> 'name' AS name, geog
            FROM measures""",
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
                CREATE ROLE {READER_ROLE} NOLOGIN;
            END IF;
        END $$""",
        f"GRANT USAGE ON SCHEMA public TO {READER_ROLE}",
        f"""DO $$ BEGIN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {READER_ROLE}', current_schema());
        END $$""",
        f"GRANT SELECT ON picture_declarations, picture_measures TO {READER_ROLE}",
    )),
    (4, "the Merkle log: tree nodes, signed checkpoints, cosignatures, the log's public keys", (
        # Every perfect aligned subtree, id = level << 48 | index; hashes as hex.
        """CREATE TABLE tree_nodes (
            id   BIGINT PRIMARY KEY,
            hash TEXT NOT NULL
        )""",
        """CREATE TABLE checkpoints (
            size BIGINT PRIMARY KEY,
            note TEXT NOT NULL
        )""",
        """CREATE TABLE cosignatures (
            size    BIGINT NOT NULL,
            witness TEXT NOT NULL,
            key     TEXT NOT NULL,
            line    TEXT NOT NULL,
            PRIMARY KEY (size, witness)
        )""",
        # Public keys only (the private key is in a file on each host that
        # appends); the highest rank is the current one.
        """CREATE TABLE log_keys (
            rank INT PRIMARY KEY,
            key  TEXT NOT NULL
        )""",
    )),
    (5, "start-up snapshots (store/startup.py): the latest one, in chunks", (
        # Chunks keep every row far below the row sizes distributed engines take.
        """CREATE TABLE startup_snapshot (
            part BIGINT PRIMARY KEY,
            body BYTEA NOT NULL
        )""",
    )),
    (6, "live tracks' history (tracks/history_pg.py): points per asset, kept for the retention", (
        # Not the log: a point per asset per second would swamp it. Coordinates are the
        # floats' shortest text (exact both ways; the portable types have no float).
        """CREATE TABLE track_points (
            uid   TEXT NOT NULL,
            t     BIGINT NOT NULL,
            party TEXT NOT NULL,
            lon   TEXT NOT NULL,
            lat   TEXT NOT NULL,
            alt   TEXT,
            PRIMARY KEY (uid, t)
        )""",
        "CREATE INDEX track_points_t ON track_points (t)",
        # Each uid's party, so that who is on file is asked without scanning the points.
        """CREATE TABLE track_assets (
            uid   TEXT PRIMARY KEY,
            party TEXT NOT NULL
        )""",
    )),
)

#: Migrations that only guard (PL/pgSQL triggers): applied on PostgreSQL itself and
#: recorded as done elsewhere (CockroachDB, YugabyteDB rely on grants instead).
POSTGRES_ONLY = frozenset({2, 3})
#: Migrations for PostGIS users: applied only where the extension is available, and
#: not recorded where it is not (so a later opening with PostGIS installed applies them).
POSTGIS = frozenset({3})

#: The newest migration this version knows.
SCHEMA_VERSION = MIGRATIONS[-1][0]

EVENT_COLUMNS = "seq, recorded_at, type, actor, subject, payload, prev_hash, hash"
