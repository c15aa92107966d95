"""Start-up from a snapshot (store/startup.py) on both stores: the same decisions
as a cold start, the tail replayed, and a snapshot that does not match the log
refused (or, for another version or program, ignored)."""

from __future__ import annotations

import dataclasses
import json
import struct
import threading
from pathlib import Path
from typing import Any

import pytest
from bench.synth import Theatre, measures

from deconflict.errors import TamperedLog
from deconflict.model import Party, ShareWith
from deconflict.service import startup as startup_service
from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store import startup
from deconflict.store.documents import encode_declaration
from deconflict.store.events import canonical_json
from deconflict.store.keys import KeyRing
from deconflict.store.note import Signer, sign_note
from deconflict.store.open import store_url
from deconflict.store.postgres import PostgresStore
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore
from tests.pg import fresh_url
from tests.store.helpers import raw

PARTIES = [f"p{i}" for i in range(8)]


@pytest.fixture(params=["sqlite", "postgresql"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "s.sqlite3") if request.param == "sqlite" else fresh_url()


def open_store(spec: str) -> Store:
    return PostgresStore(spec) if store_url(spec) else SQLiteStore(spec)


def seeded(spec: str, n: int, seed: int = 3) -> Deconflict:
    service = Deconflict(open_store(spec))
    service.apply([Change(party=Party(p, p)) for p in PARTIES])
    service.apply([Change(measure=m) for m in measures()])
    # A dense theatre: many declarations meet, so the checks below find things.
    theatre = Theatre(seed)
    service.apply([Change(declaration=d) for d in theatre.declarations(n)])
    return service


def decisions(service: Deconflict, activities: list[Any]) -> list[Any]:
    return [service.check(a) for a in activities]


def probes(service: Deconflict, seed: int) -> list[Any]:
    """Fresh activities, and others' copies of declarations in force (which meet
    them, and the measures they met): checks with findings of every kind."""
    fresh = Theatre(seed).declarations(150, prefix="a")
    copies = [dataclasses.replace(d, id=f"c{i}", owner=PARTIES[(PARTIES.index(d.owner) + 1) % len(PARTIES)])
              for i, d in enumerate(list(service.declarations())[::5])]
    return fresh + copies


def test_a_snapshot_start_decides_exactly_as_a_cold_start(spec: str) -> None:
    service = seeded(spec, 600)
    # Withdrawn and replaced declarations leave holes the snapshot renumbers.
    ids = [d.id for d in service.declarations()]
    for ident in ids[::7]:
        service.withdraw(ident, service.engine.get_declaration(ident).owner)
    # Declared again under the ids of live ones (the old versions leave the index).
    replaced = [dataclasses.replace(d, id=ids[1 + 7 * i]) for i, d in enumerate(Theatre(11).declarations(40))]
    service.apply([Change(declaration=d) for d in replaced], "admin")
    seq = service.write_snapshot()
    service.close()

    cold = Deconflict(open_store(spec), use_snapshot=False)
    warm = Deconflict(open_store(spec))
    try:
        assert warm.snapshot_seq == seq and cold.snapshot_seq is None
        assert warm.seq == cold.seq == seq
        assert sorted(d.id for d in warm.declarations()) == sorted(d.id for d in cold.declarations())
        assert {d.id: d for d in warm.declarations()} == {d.id: d for d in cold.declarations()}
        assert warm.measures() == cold.measures() and warm.parties() == cold.parties()
        activities = probes(cold, 99)
        got, want = decisions(warm, activities), decisions(cold, activities)
        assert got == want
        # Not vacuous: the theatre is dense enough for findings of several kinds.
        assert sum(len(r.findings) for r in want) >= 5
    finally:
        cold.close()
        warm.close()


def test_the_tail_after_the_snapshot_is_replayed(spec: str) -> None:
    service = seeded(spec, 300)
    seq = service.write_snapshot()
    later = Theatre(5).declarations(30, prefix="late")
    service.apply([Change(declaration=d) for d in later])
    gone = next(iter(service.declarations())).id
    service.withdraw(gone, "admin")
    service.close()
    warm = Deconflict(open_store(spec))
    cold = Deconflict(open_store(spec), use_snapshot=False)
    try:
        assert warm.snapshot_seq == seq < warm.seq == cold.seq
        assert not warm.engine.has_declaration(gone)
        assert all(warm.engine.has_declaration(d.id) for d in later)
        activities = probes(cold, 77)
        assert decisions(warm, activities) == decisions(cold, activities)
        # A write after a snapshot start, then a new snapshot from that engine.
        extra = Theatre(8).declarations(5, prefix="x")
        warm.apply([Change(declaration=d) for d in extra])
        again = warm.write_snapshot()
    finally:
        warm.close()
        cold.close()
    third = Deconflict(open_store(spec))
    try:
        assert third.snapshot_seq == again
        assert all(third.engine.has_declaration(d.id) for d in extra)
    finally:
        third.close()


def _rewrite(spec: str, edit: Any) -> None:
    store = open_store(spec)
    try:
        buf = store.startup_buffer()
        assert buf is not None
        edited = edit(bytes(buf))
        del buf
        # Whoever edits the snapshot writes it over the old one, whatever its seq says
        # (put_startup alone keeps a later snapshot rather than an earlier one).
        store.drop_startup()
        store.put_startup(edited)
    finally:
        store.close()


def _header(body: bytes) -> tuple[int, dict[str, Any]]:
    (n,) = struct.unpack_from("<I", body, 12)
    return n, json.loads(body[16:16 + n])


def _with_header(body: bytes, change: dict[str, Any]) -> bytes:
    n, header = _header(body)
    header.update(change)
    new = canonical_json(header).encode()
    return body[:12] + struct.pack("<I", len(new)) + new + body[16 + n:]


def _resign(body: bytes, change: dict[str, Any], signer: Signer) -> bytes:
    """The snapshot with its header changed and signed again by the log's key."""
    n, header = _header(body)
    (m,) = struct.unpack_from("<I", body, 16 + n)
    start = 20 + n + m
    rest = body[start + (-start % 8):]
    header.update(change)
    new = canonical_json(header).encode()
    note = sign_note(startup._note_text(new), signer).encode()
    head = body[:12] + struct.pack("<I", len(new)) + new + struct.pack("<I", len(note)) + note
    return head + bytes(-len(head) % 8) + rest


def refuses(spec: str, why: str) -> None:
    store = open_store(spec)
    try:
        with pytest.raises(startup.SnapshotMismatch, match=why):
            Deconflict(store)
    finally:
        store.close()


def _opens_cold(spec: str) -> Deconflict:
    service = Deconflict(open_store(spec))
    assert service.snapshot_seq is None
    return service


@pytest.mark.parametrize("edit, refused", [
    # One byte of a declaration's document changed: the body's digest no longer holds.
    (lambda b: b[:-3] + bytes([b[-3] ^ 1]) + b[-2:], "body is not the one"),
    # The header says another event: the signature no longer covers it.
    (lambda b: _with_header(b, {"seq": _header(b)[1]["seq"] - 1}), "not the one its signature covers"),
    (lambda b: _with_header(b, {"hash": "0" * 64}), "not the one its signature covers"),
    (lambda b: b"NOTASNAP" + b[8:], "not a snapshot"),
])
def test_an_edited_snapshot_is_refused(spec: str, edit: Any, refused: str) -> None:
    with seeded(spec, 50) as service:
        service.write_snapshot()
    _rewrite(spec, edit)
    refuses(spec, refused)
    # The way out the message gives: delete it, start cold (vouching for everything).
    store = open_store(spec)
    store.drop_startup()
    Deconflict(store).close()


@pytest.mark.parametrize("split", [1, 7, 4096, 1 << 20])
def test_the_digest_taken_while_spooling_is_the_body_s(split: int) -> None:
    """PostgreSQL's rows are inflated on threads and the body hashed on the way
    (startup.read_chunks): whatever the chunks' sizes (the header cut across many),
    the digest load() compares is the body's, and the bytes are the snapshot's."""
    import hashlib
    import zlib

    head = startup.MAGIC + struct.pack("<I", startup.VERSION) + struct.pack("<I", 5) + b"{...}"
    head += struct.pack("<I", 3) + b"sig"
    head += bytes(-len(head) % 8)
    body = bytes(range(256)) * 9000
    whole = head + body
    chunks = [zlib.compress(whole[at:at + split], 1) for at in range(0, len(whole), split)][:4000]
    got = b"".join(zlib.decompress(c) for c in chunks)
    buf = startup.read_chunks(iter(chunks), zlib.decompress)
    assert buf is not None and bytes(buf) == got
    start = len(head)
    assert len(got) > start
    assert getattr(buf.obj, "body_sha256", None) == hashlib.sha256(got[start:]).hexdigest()
    assert startup._body_digest(buf, start) == hashlib.sha256(got[start:]).hexdigest()
    # Another start (not the body's): read through, not the kept digest.
    assert startup._body_digest(buf, start + 8) == hashlib.sha256(got[start + 8:]).hexdigest()


def test_an_edited_chunk_among_many_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot in many PostgreSQL rows, inflated out of order on threads: the
    same decisions as a cold start, and one byte edited in a middle row refused."""
    from deconflict.store import postgres

    monkeypatch.setattr(postgres, "SNAPSHOT_CHUNK", 4096)
    spec = fresh_url()
    with seeded(spec, 60) as service:
        service.write_snapshot()
        activities = probes(service, 9)
        want = decisions(service, activities)
    assert sum(len(r.findings) for r in want) >= 3
    with Deconflict(open_store(spec)) as started:
        assert started.snapshot_seq is not None
        assert decisions(started, activities) == want
    _rewrite(spec, lambda b: b[:len(b) // 2] + bytes([b[len(b) // 2] ^ 1]) + b[len(b) // 2 + 1:])
    refuses(spec, "body is not the one")


def test_a_row_that_does_not_inflate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PostgreSQL row edited so that it no longer inflates, among rows inflated on
    threads: refused with the store's message, not a thread's traceback."""
    import psycopg

    from deconflict.store import postgres

    monkeypatch.setattr(postgres, "SNAPSHOT_CHUNK", 4096)
    spec = fresh_url()
    with seeded(spec, 30) as service:
        service.write_snapshot()
    with psycopg.connect(spec, autocommit=True) as db:
        rows = db.execute("SELECT count(*) FROM startup_snapshot").fetchone()
        assert rows is not None and rows[0] > 4
        db.execute("UPDATE startup_snapshot SET body = %s WHERE part = %s", (b"not zlib", rows[0] // 2))
    refuses(spec, "cannot be decompressed")


def test_a_snapshot_of_another_log_is_refused(spec: str, tmp_path: Path) -> None:
    """Signed with the same key but taken from another log (a copy that went
    another way): event ``seq`` has another hash here."""
    service = seeded(spec, 40)
    service.write_snapshot()
    buf = service.store.startup_buffer()
    assert buf is not None
    theirs = bytes(buf)
    service.apply([Change(declaration=d) for d in Theatre(4).declarations(3, prefix="m")])
    service.write_snapshot()
    service.close()
    # Rewind: the log's event at the old snapshot's seq is the same event, so fake
    # a divergence by signing a header naming a later seq with the old hash.
    _, header = _header(theirs)
    store = open_store(spec)
    head = store.head()
    assert head is not None
    forged = _resign(theirs, {"seq": head.seq}, KeyRing.load(store.key_file()).signer)
    store.put_startup(forged)
    store.close()
    refuses(spec, r"another log|rewritten")
    assert header["seq"] < head.seq


def test_an_unknown_version_or_another_program_starts_cold(spec: str) -> None:
    with seeded(spec, 30) as service:
        service.write_snapshot()
    _rewrite(spec, lambda b: b[:8] + struct.pack("<I", startup.VERSION + 1) + b[12:])
    _opens_cold(spec).close()
    store = open_store(spec)
    signer = KeyRing.load(store.key_file()).signer
    service = Deconflict(store)
    service.write_snapshot()
    buf = store.startup_buffer()
    assert buf is not None
    store.put_startup(_resign(bytes(buf), {"code": "0" * 64}, signer))
    del buf
    service.close()
    _opens_cold(spec).close()


def test_a_snapshot_does_not_hide_a_log_edited_after_it(tmp_path: Path) -> None:
    """The tail after the snapshot is vouched for: an edit there is caught at open."""
    path = tmp_path / "s.sqlite3"
    service = seeded(str(path), 30)
    service.write_snapshot()
    service.apply([Change(declaration=d) for d in Theatre(6).declarations(3, prefix="t")])
    head = service.seq
    service.close()
    db = raw(path)
    db.execute(f"UPDATE events SET payload = replace(payload, '\"p', '\"q') WHERE seq = {head}")
    assert db.total_changes == 1
    db.close()
    with SQLiteStore(path) as store, pytest.raises(TamperedLog) as info:
        Deconflict(store)
    assert info.value.seq == head


def plain(x: Any) -> Any:
    """A value as plain data, to compare states whose classes have no ``__eq__``."""
    if isinstance(x, dict):
        return {repr(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return sorted(repr(plain(v)) for v in x)
    if hasattr(x, "__dict__") and not isinstance(x, type):
        return (type(x).__name__, plain(vars(x)))
    if hasattr(x, "__slots__"):
        return (type(x).__name__, {s: plain(getattr(x, s, None)) for s in x.__slots__})
    return x


def test_the_hotline_resumes_from_the_snapshot_as_from_the_whole_log(spec: str) -> None:
    service = seeded(spec, 200)
    h = Hotline(service)
    tokens = {p: h.issue_credential(None, p, "m", Role.PLANNER)[1] for p in PARTIES[:3]}
    mine = list(service.declarations())

    def submit(i: int, d: Any) -> None:
        owner = PARTIES[i % 3]
        who = h.authenticate(tokens[owner])
        h.submit(who, dataclasses.replace(d, id=f"s{i}", owner=owner), override_reason="exercise",
                 idempotency_key=f"k{i}")

    for i, d in enumerate(mine[:40:2]):
        submit(i, d)
    assert startup_service.refresh(h, min_declarations=0) is not None
    for i, d in enumerate(mine[1:40:2], start=100):
        submit(i, d)
    h.withdraw(h.authenticate(tokens[PARTIES[0]]), "s0")
    service.close()

    cold_service = Deconflict(open_store(spec), use_snapshot=False)
    warm_service = Deconflict(open_store(spec))
    try:
        assert warm_service.snapshot_sections.get("hotline")
        cold, warm = Hotline(cold_service), Hotline(warm_service)
        assert warm_service.snapshot_seq is not None and cold_service.snapshot_seq is None
        assert "hotline" not in warm_service.snapshot_sections  # taken: resumed, not replayed from the start
        assert warm.head == cold.head == cold_service.seq
        for name in startup_service.FIELDS:
            assert plain(getattr(warm, name)) == plain(getattr(cold, name)), name
        assert warm.deadlines.settings is warm.settings
    finally:
        cold_service.close()
        warm_service.close()


def test_a_host_without_the_signing_key_starts_and_writes_no_snapshot(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """serve's refresh must not turn a missing key into a failed start: a
    PostgreSQL host that only reads has the public keys (log_keys), not the file."""
    url = fresh_url()
    seeded(url, 20).close()
    monkeypatch.setenv("DECONFLICT_LOG_KEYS", str(tmp_path / "no-such-keys"))
    with Deconflict(PostgresStore(url)) as service:
        assert startup_service.refresh(Hotline(service), min_declarations=0) is None
        assert service.store.startup_buffer() is None


def test_the_picture_and_the_listing_decode_after_the_hotline_s_lock(tmp_path: Path) -> None:
    """At a snapshot's start declarations stay encoded; a full listing (the map's
    picture, GET /v1/declarations) decoded every one while it held the hotline's
    lock, so every submit waited (23 s at 1M). They now copy under the lock and
    decode after it."""
    import threading

    from deconflict.web import api as web_api

    spec = str(tmp_path / "s.sqlite3")
    service = seeded(spec, 200)
    service.write_snapshot()
    service.close()
    warm = Deconflict(open_store(spec))
    hotline = Hotline(warm)
    table = warm.engine._decls
    decode = table._decode
    assert decode is not None and len(table) >= 200
    held: list[bool] = []

    def watched(doc: bytes) -> Any:
        free: list[bool] = []

        def try_lock() -> None:  # from another thread: the lock is re-entrant for ours
            got = hotline._lock.acquire(blocking=False)
            free.append(got)
            if got:
                hotline._lock.release()

        probe = threading.Thread(target=try_lock)
        probe.start()
        probe.join()
        held.append(not free[0])
        return decode(doc)

    table._decode = watched
    try:
        # The picture decodes nothing: the stored documents are its documents.
        later = Theatre(13).declarations(3, prefix="z")
        warm.apply([Change(declaration=d) for d in later])
        now = web_api._now(hotline)
        docs = now.documents(lambda o, s: True, lambda d: True)
        assert len(docs) == len(warm.engine) and not held
        objects = {d.id: encode_declaration(d) for d in warm.declarations()}
        listed = [json.loads(d) if isinstance(d, bytes) else encode_declaration(d) for d in docs]
        assert [d["id"] for d in listed] == sorted(objects) and listed == [objects[d["id"]] for d in listed]
        assert sum(isinstance(d, bytes) for d in docs) == len(docs) - len(later)
        mine = now.documents(lambda o, s: s.allows(PARTIES[0], o), lambda d: d.share_with.allows(PARTIES[0], d.owner))
        assert len(mine) == sum(d.share_with.allows(PARTIES[0], d.owner) for d in warm.declarations())
        held.clear()
        viewer = hotline.authenticate(hotline.issue_credential(None, PARTIES[0], "v", Role.VIEWER)[1])
        assert hotline.declarations(viewer) and held and not any(held)
    finally:
        table._decode = decode
        warm.close()


def test_a_snapshot_is_written_while_other_processes_submit(spec: str) -> None:
    """Writing a snapshot (18-49 s at 1M) held the store's writer lock, so every
    other worker's submit waited for it. Now the state is copied at one event and
    written without that lock: another process's submit completes meanwhile, and
    the snapshot stays bound to the event it was taken at."""
    service = seeded(spec, 120)
    other = Deconflict(open_store(spec))  # another worker of the same store
    late = Theatre(12).declarations(2, prefix="during")
    done: list[int] = []

    def submit_elsewhere() -> None:
        worker = threading.Thread(target=lambda: done.append(len(other.apply([Change(declaration=d) for d in late]))))
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "a submit on another process waited for the snapshot's writing"

    taken_at = service.seq
    try:
        assert service.write_snapshot(during=submit_elsewhere) == taken_at
        assert done and other.seq > taken_at
    finally:
        other.close()
        service.close()
    warm = Deconflict(open_store(spec))
    try:
        # Bound to the event it was taken at; what was appended meanwhile is the tail.
        assert warm.snapshot_seq == taken_at < warm.seq
        assert all(warm.engine.has_declaration(d.id) for d in late)
    finally:
        warm.close()


def test_an_older_snapshot_does_not_replace_a_later_one(spec: str) -> None:
    service = seeded(spec, 40)
    try:
        first = service.write_snapshot()
        buf = service.store.startup_buffer()
        assert buf is not None
        older = bytes(buf)
        del buf
        service.apply([Change(declaration=d) for d in Theatre(4).declarations(3, prefix="n")])
        later = service.write_snapshot()
        service.store.put_startup(older)  # a slower writer finishing last
        buf = service.store.startup_buffer()
        assert buf is not None and startup.peek_seq(buf) == later > first
        del buf
    finally:
        service.close()


def test_pages_of_a_snapshot_start_are_those_of_a_cold_start_over_http(tmp_path: Path) -> None:
    """GET /v1/declarations on a process started from a snapshot sends the stored
    documents as they are: the same pages, documents and cursors as a cold start."""
    import asyncio

    import httpx

    from deconflict.service.http import create_app

    spec = str(tmp_path / "s.sqlite3")
    service = seeded(spec, 300)
    # Some shared with one party only: the viewer below must not see them.
    private = [dataclasses.replace(d, share_with=ShareWith.only({PARTIES[3]}))
               for d in Theatre(21).declarations(40, prefix="h")]
    service.apply([Change(declaration=d) for d in private], "admin")
    assert any(d.owner != PARTIES[0] for d in private)
    service.write_snapshot()
    service.apply([Change(declaration=d) for d in Theatre(22).declarations(20, prefix="t")])
    service.close()

    def all_pages(service: Deconflict, party: str, params: dict[str, str]) -> list[Any]:
        hotline = Hotline(service)
        token = hotline.issue_credential(None, party, "v", Role.VIEWER)[1]
        out = []

        async def run(params: dict[str, str]) -> None:
            transport = httpx.ASGITransport(app=create_app(hotline))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                while True:
                    r = await client.get("/v1/declarations", params=params,
                                         headers={"Authorization": f"Bearer {token}"})
                    assert r.status_code == 200
                    out.append((r.json(), r.headers.get("x-next-cursor")))
                    if "x-next-cursor" not in r.headers:
                        return
                    params = {**params, "cursor": r.headers["x-next-cursor"]}

        asyncio.run(run(params))
        return out

    queries = [{"limit": "70"}, {"limit": "30", "kind": "site,fire", "owner": "p1,p2"},
               {"limit": "25", "bbox": "36,32,38,34", "references": "true"}]
    for params in queries:
        warm, cold = Deconflict(open_store(spec)), Deconflict(open_store(spec), use_snapshot=False)
        try:
            assert warm.snapshot_seq is not None
            got, want = all_pages(warm, PARTIES[0], params), all_pages(cold, PARTIES[0], params)
            assert got == want and sum(len(docs) for docs, _ in got) > 0
            # Another party's declarations shared with p3 only stay out (the owner sees its own).
            assert all(d["owner"] == PARTIES[0] for docs, _ in got for d in docs if d["id"].startswith("h"))
        finally:
            warm.close()
            cold.close()
