"""What only the PostgreSQL store has: the portable SQL subset it keeps to, its
migrations, its lock rows, its triggers, moving a log between stores, and
reconnecting after the database went away."""

from __future__ import annotations

import re
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from deconflict.engine.cells import Claim
from deconflict.errors import StoreError, TamperedLog
from deconflict.store import _pg_schema
from deconflict.store.events import EventDraft
from deconflict.store.keys import KeyRing
from deconflict.store.note import open_checkpoint
from deconflict.store.postgres import PostgresStore, StoreUnavailable
from deconflict.store.sqlite import SQLiteStore, StaleWrite
from tests.pg import fresh_url
from tests.store.helpers import T0, Clock, World, tables

# -- the portable subset (docs/store.md, "Portable SQL") ------------------------------------
#: Statements the store may issue, each as a pattern over its text (whitespace folded).
ALLOWED = [
    r"BEGIN ISOLATION LEVEL SERIALIZABLE",
    r"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    r"COMMIT",
    r"ROLLBACK",
    r"SELECT .* FROM [\w.]+( WHERE .*)?( ORDER BY \w+( DESC)?)?( LIMIT \d+)?",
    r"SELECT key FROM locks WHERE key = ANY\(%s\) ORDER BY key FOR (UPDATE|SHARE)",
    r"SELECT seq, recorded_at, hash FROM head WHERE id = 1 FOR UPDATE",
    r"SELECT coalesce\(max\(version\), 0\) FROM schema_migrations",
    r"SELECT version\(\)",
    # One row or several (standard SQL; CockroachDB and YugabyteDB take both).
    r"INSERT INTO \w+ \([\w, ]+\) VALUES \([%s, ]+\)(, \([%s, ]+\))*"
    r"( ON CONFLICT \((id|key|size|size, witness)\) DO UPDATE SET .*| ON CONFLICT \((uid|uid, t)\) DO NOTHING)?",
    r"INSERT INTO meta \(key, value\) VALUES \('margins', %s\)"
    r" ON CONFLICT \(key\) DO UPDATE SET value = excluded.value",
    r"INSERT INTO locks \(key\) SELECT unnest\(%s::text\[\]\) ON CONFLICT \(key\) DO NOTHING",
    r"UPDATE head SET seq = %s, recorded_at = %s, hash = %s WHERE id = 1",
    r"DELETE FROM (measures|declarations) WHERE id = %s",
    r"DELETE FROM startup_snapshot",
    # Live tracks' history (tracks/history_pg.py): the retention, and assets left with no point.
    r"DELETE FROM track_points WHERE t < %s",
    r"DELETE FROM track_assets WHERE NOT EXISTS \(SELECT 1 FROM track_points WHERE track_points.uid = "
    r"track_assets.uid\)",
    r"CREATE TABLE \w+ \(.*\)",
    r"CREATE INDEX \w+ ON \w+ \(\w+\)",
    r"INSERT INTO \w+ \([\w, ]+\) VALUES \([^%]*\)",
]
#: Never: advisory locks, table locks, sequences, server-side JSON, PL/pgSQL outside
#: the PostgreSQL-only guard migration.
FORBIDDEN = re.compile(r"advisory|LOCK TABLE|nextval|\bSERIAL\b|BIGSERIAL|jsonb|LISTEN|plpgsql|TRIGGER|SKIP LOCKED",
                       re.I)
#: PostgreSQL only: waking followers early (never the truth), and the lock connection's
#: commits of new lock rows not waiting for a WAL flush (off elsewhere).
WAKE_UPS = {"NOTIFY deconflict_log", "LISTEN deconflict_log", "SET synchronous_commit = off"}
#: Statements that write; they must run inside a SERIALIZABLE transaction.
WRITES = re.compile(r"^(INSERT|UPDATE|DELETE)\b")


def fold(sql: str) -> str:
    return " ".join(sql.split())


def guard_statements() -> set[str]:
    return {fold(s) for v, _d, stmts in _pg_schema.MIGRATIONS if v in _pg_schema.POSTGRES_ONLY for s in stmts}


def test_the_store_issues_only_the_portable_subset(world: World) -> None:
    """Every statement a full round of use issues (create, migrate, append, decide
    under cell rows and append numbered there, withdraw, read, snapshot, verify,
    as_of, the Merkle log's receipts, proofs, cosignatures and key rotation) is in
    the subset; writes and row locks (FOR UPDATE, FOR SHARE) run only in
    SERIALIZABLE transactions; lock rows are taken in key order."""
    url = fresh_url()
    store = PostgresStore(url, clock=Clock(), trace=True)
    try:
        drafts = world.drafts()
        store.append(drafts[:5])
        with store.exclusive(Claim(frozenset({"c0:1:1:0", "c0:9:9:0"}), frozenset({"c1:0:0:0", "global"}))):
            store.append(drafts[5:-1], after=5)
            # A decision under cell rows: numbered at the append, while others may append elsewhere.
            numbered = store.append_numbered(lambda first: [drafts[-1]] if first == len(drafts) else [])
        decl = next(d for d in drafts if d.type == "declaration.declared")
        store.append([EventDraft("declaration.withdrawn", decl.actor, decl.subject, {"id": decl.subject})])
        with store.exclusive():
            list(store.events(after_seq=2))
            store.events_after(3)
        with store.snapshot() as snap:
            list(snap.declarations)
        store.verify()
        store.state_as_of(T0 + timedelta(days=1))
        store.parties()
        store.measures()
        store.margins()
        store.count_declarations()
        store.head()
        store.data_version()
        store.wait_for_log(0.01)
        # The Merkle log (store/_pg_merkle.py): verification, receipts, proofs, witnesses, a rotation.
        store.vouch()
        store.receipts([1, 6, 7])
        store.inclusion_proof(3, 7)
        store.consistency_proof(3, 7)
        size, note = store.checkpoint() or (0, "")
        store.add_cosignature(size, note, "witness/x+01020304+AAAA", "— witness/x AAAA")
        store.cosignatures(size, note)
        store.witness_keys()
        store.rotate_key()
        # The start-up snapshot's rows (store/startup.py): written whole, read in order.
        store.put_startup(b"x" * 100)
        store.startup_buffer()
        store.event_row(1)
        statements = list(store.statements or [])
    finally:
        store.close()
    guard = guard_statements()
    open_tx: dict[int, str | None] = {}
    for conn, raw in statements:
        sql = fold(raw)
        in_tx = open_tx.get(conn)
        if sql in guard or sql in WAKE_UPS:
            continue
        assert not FORBIDDEN.search(sql), sql
        assert any(re.fullmatch(p, sql, re.S) for p in ALLOWED), f"outside the portable subset: {sql}"
        if sql.startswith("BEGIN"):
            assert in_tx is None, "nested BEGIN"
            open_tx[conn] = sql
        elif sql in ("COMMIT", "ROLLBACK"):
            open_tx[conn] = None
        elif WRITES.match(sql) and not sql.startswith("INSERT INTO locks (key) SELECT unnest"):
            assert in_tx == "BEGIN ISOLATION LEVEL SERIALIZABLE", f"a write outside SERIALIZABLE: {sql}"
        if "FOR UPDATE" in sql or "FOR SHARE" in sql:
            assert in_tx == "BEGIN ISOLATION LEVEL SERIALIZABLE", sql
    # Cells exclusively, their ancestors and the global row shared, in one locking
    # transaction, in key order (one statement per run of one mode).
    locking = [fold(s) for _c, s in statements if "FROM locks" in s]
    assert "SELECT key FROM locks WHERE key = ANY(%s) ORDER BY key FOR UPDATE" in locking
    assert "SELECT key FROM locks WHERE key = ANY(%s) ORDER BY key FOR SHARE" in locking
    assert [e.seq for e in numbered] == [len(drafts)]
    assert {fold(s) for _c, s in statements} >= WAKE_UPS


def test_a_store_told_not_to_wake_others_issues_no_notify(world: World) -> None:
    """What a follower sees from a writer on an engine without LISTEN/NOTIFY."""
    with PostgresStore(fresh_url(), clock=Clock(), trace=True, notify=False) as store:
        store.append(world.drafts()[:3])
        assert not store.wait_for_log(0.01)
        assert not {fold(s) for _c, s in store.statements or []} & {"NOTIFY deconflict_log", "LISTEN deconflict_log"}


def test_an_append_wakes_another_stores_follower_early(world: World) -> None:
    url = fresh_url()
    with PostgresStore(url) as follower, PostgresStore(url, clock=Clock()) as writer:
        follower.wait_for_log(0.01)  # listening from now on
        writer.append(world.drafts()[:2])
        assert follower.wait_for_log(30.0)


def test_a_stores_own_append_does_not_wake_its_own_follower(world: World) -> None:
    """The process that appended has its events already: its NOTIFY woke its own
    follower for a read of the log that found nothing, once a batch."""
    url = fresh_url()
    with PostgresStore(url, clock=Clock()) as store, PostgresStore(url, clock=Clock()) as other:
        store.wait_for_log(0.01)  # listening from now on
        store.append(world.drafts()[:2])
        assert not store.wait_for_log(0.3)
        other.append(world.drafts()[2:3])
        assert store.wait_for_log(30.0)  # another's append still wakes it


def test_news_reads_the_log_in_one_statement(world: World) -> None:
    """Asking the head row whether the log moved, then reading it, was two round
    trips whenever another process had appended."""
    url = fresh_url()
    with PostgresStore(url, clock=Clock(), trace=True) as store, PostgresStore(url, clock=Clock()) as other:
        other.append(world.drafts()[:2])
        assert store.statements is not None
        store.statements.clear()
        _token, events = store.news(0, None)
        assert [e.seq for e in events] == [1, 2]
        assert len(store.statements) == 1
        assert store.news(2, _token)[1] == []


def test_the_trees_edge_grows_by_anothers_events_without_reading_the_tree(world: World) -> None:
    """A store whose last append was followed by another's reads the events in
    between with its head row, and grows the tree's edge by them: reading the
    tree's rows back cost two round trips each time. The tree stays the one the
    log's hashes make (vouch checks every node)."""
    url = fresh_url()
    drafts = world.drafts()
    with PostgresStore(url, clock=Clock(), trace=True) as mine, PostgresStore(url, clock=Clock()) as other:
        mine.append(drafts[:2])
        other.append(drafts[2:4])
        assert mine.statements is not None
        mine.statements.clear()
        [event] = mine.append(drafts[4:5])
        assert event.seq == 5
        read = [fold(s) for _c, s in mine.statements if fold(s).startswith("SELECT")]
        assert not [s for s in read if "tree_nodes" in s or "checkpoints" in s], read
        # The events in between, for the service to fold in: read with the head row.
        mine.statements.clear()
        assert [e.seq for e in mine.events_between(2, 5)] == [3, 4]
        assert mine.statements == []
        assert [e.seq for e in mine.events_between(1, 5)] == [2, 3, 4]  # from before it: read
        assert [e.hash for e in mine.events_between(2, 5)] == [e.hash for e in other.events_after(2)][:2]
        other.append(drafts[5:6])
        mine.vouch()
        other.vouch()
        assert mine.checkpoint() == other.checkpoint()


def rows(*keys: str) -> Claim:
    return Claim(frozenset(keys), frozenset({"global"}))


def test_lock_rows_are_taken_in_sorted_order_and_exclude_another_store() -> None:
    url = fresh_url()
    first, second = PostgresStore(url), PostgresStore(url)
    order: list[str] = []
    try:
        with first.exclusive(rows("c:b", "c:a")), first.exclusive():  # reentrant, keeps the outer rows
            other = threading.Thread(target=lambda: (second.exclusive(rows("c:a")).__enter__(),
                                                     order.append("second")))
            other.start()
            other.join(0.3)
            assert other.is_alive()  # waits for the row, as another host would
            order.append("first done")
        other.join(5)
        assert order == ["first done", "second"]
        second._release()
        second._writer_depth = 0
        # Disjoint rows do not wait.
        with first.exclusive(rows("c:x")):
            done = threading.Event()
            t = threading.Thread(target=lambda: (second.exclusive(rows("c:y")).__enter__(), done.set()))
            t.start()
            assert done.wait(5)
            t.join()
    finally:
        first.close()
        second.close()


def test_a_lock_row_lost_after_it_was_made_is_made_again_and_held() -> None:
    """Lock rows are committed without waiting for a WAL flush, so a crash may lose
    one a process remembers making: its next claim must not lock nothing."""
    url = fresh_url()
    with PostgresStore(url) as store:
        claim = rows("c0:1:2:3")
        with store.exclusive(claim):
            pass
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("DELETE FROM locks WHERE key = 'c0:1:2:3'")  # as a crash would
        with (store.exclusive(claim), psycopg.connect(url, autocommit=True) as db,
              pytest.raises(psycopg.errors.LockNotAvailable), db.transaction()):
            db.execute("SELECT key FROM locks WHERE key = 'c0:1:2:3' FOR UPDATE NOWAIT")


def test_migrations_are_recorded_and_a_newer_store_is_refused() -> None:
    url = fresh_url()
    with PostgresStore(url) as store:
        assert store.schema_version() == _pg_schema.SCHEMA_VERSION
    with psycopg.connect(url, autocommit=True) as db:
        versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == [v for v, _d, _s in _pg_schema.MIGRATIONS]
        db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '')")
    with pytest.raises(StoreError, match="newer Deconflict"):
        PostgresStore(url)


def test_a_store_written_before_the_track_history_gets_its_tables() -> None:
    """Migration 6 on a store at migration 5: applied at the next opening, recorded."""
    url = fresh_url()
    PostgresStore(url).close()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE track_points")
        db.execute("DROP TABLE track_assets")
        db.execute("DELETE FROM schema_migrations WHERE version = 6")
    with PostgresStore(url) as store:
        assert store.schema_version() == 6
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SELECT uid, t, party, lon, lat, alt FROM track_points")
        db.execute("SELECT uid, party FROM track_assets")


def test_a_database_of_another_application_is_refused_untouched() -> None:
    url = fresh_url()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE customers (id INT PRIMARY KEY)")
    with pytest.raises(StoreError, match="not a Deconflict store"):
        PostgresStore(url)
    with psycopg.connect(url, autocommit=True) as db:
        tables = {r[0] for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    assert tables == {"customers"}


def test_two_stores_created_at_once_make_one_store() -> None:
    url = fresh_url()
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for s in stores:
        assert s.schema_version() == _pg_schema.SCHEMA_VERSION
        s.close()


def test_triggers_refuse_rewriting_history(world: World) -> None:
    url = fresh_url()
    with PostgresStore(url) as store:
        store.append(world.drafts())
        with psycopg.connect(url, autocommit=True) as db:
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                db.execute("UPDATE events SET payload = '{}' WHERE seq = 2")
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                db.execute("DELETE FROM events WHERE seq = 2")
        assert store.verify() == len(world.drafts())


@pytest.mark.parametrize(("sql", "seq"), [
    ("UPDATE events SET payload = replace(payload, 'coalition', 'c0alition') WHERE seq = 2", 2),
    ("DELETE FROM events WHERE seq >= 16", 16),
    ("UPDATE events SET prev_hash = repeat('f', 64) WHERE seq = 4", 4),
])
def test_verify_names_the_first_tampered_event(world: World, sql: str, seq: int) -> None:
    url = fresh_url()
    with PostgresStore(url) as store:
        store.append(world.drafts())
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("ALTER TABLE events DISABLE TRIGGER events_no_change")
            db.execute(sql)
        with pytest.raises(TamperedLog) as info:
            store.verify()
        assert info.value.seq == seq


def test_both_stores_write_the_same_chain(tmp_path: Path, world: World) -> None:
    """Same canonical bytes, same chain: the same drafts at the same times give the
    very same hashes, state and verification on SQLite and PostgreSQL, so a log
    can move from one to the other."""
    lite = SQLiteStore(tmp_path / "a.sqlite3", clock=Clock())
    pg = PostgresStore(fresh_url(), clock=Clock())
    try:
        lite.append(world.drafts())
        pg.append(world.drafts())
        assert list(pg.events()) == list(lite.events())
        assert tables(pg) == tables(lite)
        assert pg.verify() == lite.verify()
        cut = T0 + timedelta(seconds=1)
        assert pg.state_as_of(cut) == lite.state_as_of(cut)
    finally:
        lite.close()
        pg.close()


def test_a_stale_decision_is_refused_across_stores(world: World) -> None:
    url = fresh_url()
    a, b = PostgresStore(url), PostgresStore(url)
    try:
        drafts = world.drafts()
        a.append(drafts[:1], after=0)
        with pytest.raises(StaleWrite):
            b.append(drafts[1:2], after=0)
        assert [e.seq for e in b.append(drafts[1:2], after=1)] == [2]
        assert a.data_version() == b.data_version() == 2
    finally:
        a.close()
        b.close()


def test_concurrent_appends_from_several_stores_make_one_gapless_chain() -> None:
    url = fresh_url()
    stores = [PostgresStore(url) for _ in range(4)]

    def work(s: PostgresStore, k: int) -> None:
        for i in range(10):
            s.append([EventDraft("note.added", "admin", "", {"k": k, "i": i})] * 2)

    threads = [threading.Thread(target=work, args=(s, k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[0].verify() == 80
    for s in stores:
        s.close()


def test_a_lost_connection_is_a_retryable_error_then_the_store_reconnects() -> None:
    url = fresh_url()
    with PostgresStore(url) as store:
        store.append([EventDraft("note.added", "admin", "", {"i": 0})])
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = 'deconflict' AND datname = current_database()")
        with pytest.raises(StoreUnavailable):
            store.append([EventDraft("note.added", "admin", "", {"i": 1})])
        store.append([EventDraft("note.added", "admin", "", {"i": 2})])
        assert [e.payload["i"] for e in store.events()] == [0, 2]
        with store.exclusive():  # the lock connection reconnects too
            pass


# -- PostGIS for the people who use it ---------------------------------------------------------
def test_postgis_views_show_what_every_party_may_see_to_the_reader_role(world: World) -> None:
    """Geography columns are filled by the database from the stored documents; the
    picture views carry what is shared with all (never a declaration shared with some
    parties only); the reader role reads the views and nothing else."""
    url = fresh_url()
    with PostgresStore(url) as store:
        store.append(world.drafts())
        private = next(d for d in world.declarations if not d.share_with.everyone)
        with psycopg.connect(url, autocommit=True) as db:
            n, with_geog = db.execute("SELECT count(*), count(geog) FROM declarations").fetchone() or (0, 0)
            assert n == with_geog == len(world.declarations)
            shown = {r[0] for r in db.execute("SELECT id FROM picture_declarations")}
            assert private.id not in shown
            assert shown == {d.id for d in world.declarations if d.share_with.everyone}
            assert db.execute("SELECT count(geog) FROM picture_measures").fetchone() == (len(world.measures),)
            # GiST indexes on both.
            indexes = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
            assert {"declarations_geog", "measures_geog"} <= indexes
            db.execute(f"SET ROLE {_pg_schema.READER_ROLE}")
            assert db.execute("SELECT count(*) FROM picture_declarations").fetchone() == (len(shown),)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute("SELECT doc FROM declarations")
            db.execute("RESET ROLE")


def test_a_label_jsonb_cannot_hold_is_stored_and_the_views_still_read(world: World) -> None:
    """Regression: a NUL in a label (canonical JSON writes it as \\u0000, which jsonb
    refuses) made the PostGIS trigger fail the append: a 503 for a valid change."""
    url = fresh_url()
    with PostgresStore(url) as store:
        store.append(world.drafts())
        m = next(d for d in world.drafts() if d.type == "measure.added")
        payload = {**m.payload, "id": "NUL1", "label": "a\x00b"}
        store.append([EventDraft(m.type, m.actor, "NUL1", payload)])
        assert [x.label for x in store.measures() if x.id == "NUL1"] == ["a\x00b"]  # stored untouched
        with psycopg.connect(url, autocommit=True) as db:
            assert db.execute("SELECT count(*) FROM picture_measures WHERE id = 'NUL1'").fetchone() == (1,)


# -- the Merkle log's key on several hosts (store/_pg_merkle.py) -------------------------------
def test_every_host_signs_with_the_logs_one_key_or_not_at_all(tmp_path: Path) -> None:
    """Host A's first append makes the key and records its public half; host B
    appends only with a copy of that file: without one, or with another key, it
    refuses (naming the file) rather than fork the log's identity; it can still
    verify with the public keys the database records."""
    url = fresh_url()
    a_keys, b_keys = tmp_path / "a" / "log.keys", tmp_path / "b" / "log.keys"
    with PostgresStore(url, keys=a_keys) as a, PostgresStore(url, keys=b_keys) as b:
        a.append([EventDraft("note.added", "admin", "", {"i": 0})])
        assert a_keys.exists() and not b_keys.exists()
        assert b.vouch().events == 1  # with the database's public keys
        assert b.verifiers() == a.verifiers()
        with pytest.raises(StoreError, match="no copy of the log's signing key"):
            b.check_signing()  # what `serve` asks before it serves
        with pytest.raises(StoreError, match="no copy of the log's signing key"):
            b.append([EventDraft("note.added", "admin", "", {"i": 1})])
        b_keys.parent.mkdir()
        KeyRing.open(b_keys)  # a key of its own
        with pytest.raises(StoreError, match="not the log's current key"):
            b.append([EventDraft("note.added", "admin", "", {"i": 1})])
        assert not b_keys.with_name("log.keys-head").exists()
        shutil.copy(a_keys, b_keys)
        b.check_signing()
        b.append([EventDraft("note.added", "admin", "", {"i": 1})])
        a.append([EventDraft("note.added", "admin", "", {"i": 2})])  # after B: A reads the tree's edge again
        size, note = a.checkpoint() or (0, "")
        assert size == 3 and open_checkpoint(note, a.verifiers()).size == 3
        assert a.vouch().events == b.vouch().events == 3
        # A rotation on A: B's copy is stale, and B says so instead of signing with it.
        a.rotate_key()
    with PostgresStore(url, keys=b_keys) as b, pytest.raises(StoreError, match="was rotated"):
        b.append([EventDraft("note.added", "admin", "", {"i": 3})])


def test_a_log_from_before_the_tree_is_grown_and_signed_at_open(tmp_path: Path) -> None:
    url = fresh_url()
    keys = tmp_path / "log.keys"
    with PostgresStore(url, keys=keys) as store:
        for i in range(5):
            store.append([EventDraft("note.added", "admin", "", {"i": i})])
    with psycopg.connect(url, autocommit=True) as db:  # as a store of schema 3 had it
        for table in ("tree_nodes", "checkpoints", "log_keys"):
            db.execute(f"DELETE FROM {table}")
    keys.unlink()
    keys.with_name("log.keys-head").unlink()
    with PostgresStore(url, keys=keys) as store:
        size, note = store.checkpoint() or (0, "")
        assert size == 5 and open_checkpoint(note, store.verifiers()).size == 5
        assert store.vouch().events == 5
        store.append([EventDraft("note.added", "admin", "", {"i": 5})])
        assert store.receipt(6)["tree_size"] == 6
