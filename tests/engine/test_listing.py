"""Pages of an engine started from an image (engine/listing.py): the same pages as
a filter over every declaration, decoding only what a page lists."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from bench.synth import Theatre

from deconflict.engine import Engine
from deconflict.engine import listing as listing_module
from deconflict.engine.listing import Filter, Stored
from deconflict.model import Declaration, Party, ShareWith
from deconflict.service.listing import Query, engine_filter, page
from deconflict.store.documents import decode_declaration, encode_declaration

PARTIES = [f"p{i}" for i in range(8)]


def engine_with(decls: list[Declaration]) -> Engine:
    e = Engine()
    for p in PARTIES:
        e.add_party(Party(p, p))
    e.load(decls)
    return e


def adopted(decls: list[Declaration], asked: list[bytes]) -> Engine:
    """An engine holding ``decls`` as a snapshot start holds them: encoded, decoded
    on demand by a decoder that counts what it is asked for."""
    image = engine_with(decls).image(lambda d: json.dumps(encode_declaration(d)).encode())

    def decode(doc: bytes) -> Declaration:
        asked.append(doc)
        return decode_declaration(json.loads(doc))

    e = Engine()
    for p in PARTIES:
        e.add_party(Party(p, p))
    e.adopt_image(image, decode)
    return e


def shared(decls: list[Declaration]) -> list[Declaration]:
    """Some declarations shared with a few parties only."""
    return [dataclasses.replace(d, share_with=ShareWith.only({PARTIES[(i // 3) % 8]}))
            if i % 3 else d for i, d in enumerate(decls)]


def pages(ask: object, q: Query, party: str) -> list[tuple[list[str], str | None]]:
    out = []
    while True:
        assert callable(ask)
        f = engine_filter(q, lambda o, s: s.allows(party, o), lambda d: d.share_with.allows(party, d.owner))
        found, nxt = ask(f)
        out.append(([d.id for d in found], nxt))
        if nxt is None:
            return out
        q = dataclasses.replace(q, cursor=nxt)


def reference(decls: list[Declaration], q: Query, party: str) -> list[tuple[list[str], str | None]]:
    seen = [d for d in decls if d.share_with.allows(party, d.owner)]
    out = []
    while True:
        found, nxt = page(seen, q)
        out.append(([d.id for d in found], nxt))
        if nxt is None:
            return out
        q = dataclasses.replace(q, cursor=nxt)


QUERIES = [
    Query(limit=17),
    Query(limit=40, kinds=frozenset({"flight", "site"})),
    Query(limit=25, owners=frozenset({"p1", "p3"})),
    Query(limit=30, start=datetime(2018, 2, 7, 12, tzinfo=UTC), end=datetime(2018, 2, 7, 18, tzinfo=UTC)),
    Query(limit=11, bbox=(36.0, 32.0, 38.0, 34.0)),
    Query(limit=11, bbox=(40.0, -90.0, 35.0, 90.0)),  # across the antimeridian
    Query(limit=9, cursor="d0005", kinds=frozenset({"movement"}), owners=frozenset({"p2"})),
]


def test_pages_of_an_adopted_engine_are_the_filter_over_every_declaration() -> None:
    decls = shared(Theatre(4).declarations(400))
    asked: list[bytes] = []
    e = adopted(decls, asked)
    # Later changes: a withdrawal and a replacement of base declarations, and new ones.
    e.remove_declaration(decls[10].id)
    moved = dataclasses.replace(decls[20], share_with=ShareWith.only({"p7"}))
    e.add_declaration(moved, replace=True)
    later = shared(Theatre(9).declarations(30, prefix="e"))
    for d in later:
        e.add_declaration(d)
    now = [d for d in decls if d.id not in {decls[10].id, moved.id}] + [moved, *later]
    assert len(e) == len(now)
    ask = e.pager()
    for q in QUERIES:
        for party in ("p0", "p7"):
            assert pages(ask, q, party) == reference(now, q, party), (q, party)
    # Not vacuous: filters found something, and hid something.
    assert sum(len(ids) for ids, _ in pages(ask, QUERIES[4], "p0")) > 0
    assert len(pages(ask, Query(limit=1000), "p0")[0][0]) < len(now)


def test_a_page_decodes_what_it_lists_not_the_table() -> None:
    decls = Theatre(5).declarations(20_000)
    asked: list[bytes] = []
    e = adopted(decls, asked)
    assert not asked
    found, nxt = e.pager()(Filter(limit=50, sees=lambda o, s: True, keeps=lambda d: True, after="d0100"))
    assert [d.id for d in found] == sorted(d.id for d in decls if d.id > "d0100")[:50]
    assert nxt == found[-1].id
    assert len(asked) == 51  # the page and the one that says there is a next
    asked.clear()
    # A filter the columns decide (one owner's flights): decodes only what passes them.
    owner = decls[0].owner

    def sees(o: str, s: ShareWith) -> bool:
        return o == owner

    found, _ = e.pager()(Filter(limit=20, sees=sees, keeps=lambda d: d.owner == owner and d.kind.value == "flight",
                                kinds=frozenset({"flight"})))
    assert found and all(d.owner == owner and d.kind.value == "flight" for d in found)
    assert len(asked) == 21
    asked.clear()
    # Filters the columns decide exactly: the stored documents, none decoded.
    found, _ = e.pager()(Filter(limit=20, sees=sees, keeps=lambda d: d.owner == owner, exact=True,
                                after="d0100"))
    assert not asked and all(isinstance(d, Stored) for d in found)
    want = sorted((d for d in decls if d.owner == owner and d.id > "d0100"), key=lambda d: d.id)[:20]
    assert [decode_declaration(json.loads(d.doc)) for d in found if isinstance(d, Stored)] == want
    # Ids are found without a dict of them, withdrawn ones are not.
    assert e.has_declaration(decls[123].id) and e.get_declaration(decls[123].id) == decls[123]
    e.remove_declaration(decls[123].id)
    assert not e.has_declaration(decls[123].id) and not e.has_declaration("nope")


def test_pages_of_an_engine_of_objects_walk_a_sorted_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a cold start every declaration is an object: a page walks them in id
    order (a run sorted once and reused, later additions merged in) rather than
    filtering all of them, and withdrawals since the run was sorted stay out."""
    monkeypatch.setattr(listing_module.Run, "stale", lambda self, extra: len(extra) - self.covers > 20)
    decls = shared(Theatre(6).declarations(300))
    e = engine_with(decls)
    now = list(decls)
    q = Query(limit=23, kinds=frozenset({"site", "fire"}))
    assert pages(e.pager(), q, "p0") == reference(now, q, "p0")
    run = e._decls._run
    assert run is not None and run.covers == 300
    # Withdrawn since the run was sorted, replaced (a new slot), and a few added (the delta).
    for d in decls[:40:3]:
        e.remove_declaration(d.id)
    moved = dataclasses.replace(decls[50], share_with=ShareWith.only({"p5"}))
    e.add_declaration(moved, replace=True)
    added = shared(Theatre(7).declarations(12, prefix="f"))
    for d in added:
        e.add_declaration(d)
    gone = {d.id for d in decls[:40:3]} | {moved.id}
    now = [d for d in decls if d.id not in gone] + [moved, *added]
    for party in ("p0", "p5"):
        for query in (q, Query(limit=7), Query(limit=5, owners=frozenset({"p5"}))):
            assert pages(e.pager(), query, party) == reference(now, query, party)
    assert e._decls._run is run  # 13 later slots: merged as a delta, not sorted again
    for d in shared(Theatre(8).declarations(30, prefix="g")):
        e.add_declaration(d)
        now.append(d)
    assert pages(e.pager(), q, "p0") == reference(now, q, "p0")
    assert e._decls._run is not run and e._decls._run.covers == len(e._decls._extra)
