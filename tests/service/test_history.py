"""The state as of an instant from checkpoints plus a bounded replay (service/history.py):
a picture at 50k events reads a bounded number of events, not the whole log,
and is the state the full replay (Store.state_as_of) gives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deconflict.model import Party, PartyKind
from deconflict.service.history import History
from deconflict.store.documents import decode_declaration, encode_declaration, encode_party
from deconflict.store.events import EventDraft
from deconflict.store.open import open_store
from deconflict.store.protocol import Store
from tests.service.conftest import new_store

BATCHES = 50
PER_BATCH = 1000
EVENTS = 1 + BATCHES * PER_BATCH  # the party, then the batches


def fire(ident: str, radius: float) -> EventDraft:
    decl = decode_declaration({
        "id": ident, "kind": "fire", "owner": "blue", "target": {"type": "Point", "coordinates": [38.0, 37.0]},
        "effects_radius_m": radius, "window": {"start": "2018-02-07T12:00:00Z", "end": "2018-02-07T13:00:00Z"}})
    return EventDraft("declaration.declared", "blue", ident, encode_declaration(decl))


@pytest.fixture
def store(tmp_path: Path, store_kind: str) -> Iterator[Store]:
    s = open_store(new_store(store_kind, tmp_path))
    yield s
    s.close()


def fill(store: Store) -> list[datetime]:
    """50k events: in each batch 20 declarations (amended, some withdrawn) among
    notes that change nothing; the instant after each batch."""
    store.append([EventDraft("party.added", "admin", "blue", encode_party(Party("blue", "Blue", PartyKind.OTHER)))])
    marks = []
    declared: set[str] = set()
    for b in range(BATCHES):
        drafts = []
        for i in range(PER_BATCH):
            if i % 50 == 0:
                ident = f"d{(b * 7 + i) % 60}"
                if ident in declared and b % 3 == 0:
                    drafts.append(EventDraft("declaration.withdrawn", "blue", ident, {"id": ident}))
                    declared.discard(ident)
                else:
                    drafts.append(fire(ident, 100 + b))
                    declared.add(ident)
            else:
                drafts.append(EventDraft("note.recorded", "blue", "", {"n": b * PER_BATCH + i}))
        store.append(drafts)
        time.sleep(0.002)  # each batch's instant is after its last event and before the next batch's first
        marks.append(datetime.now(UTC))
        time.sleep(0.002)
    return marks


def test_a_picture_at_50k_events_reads_a_bounded_number_of_events(store: Store) -> None:
    marks = fill(store)
    history = History(store)
    history.at(marks[-1])
    assert history.events_read == EVENTS  # the first question reads the log once, a page at a time
    for b in (0, 3, 17, 25, 33, 48, BATCHES - 1):
        before = history.events_read
        past = history.at(marks[b])
        read = history.events_read - before
        # It was the whole log up to the instant, on every call (50k events at the end).
        assert read <= history.spacing < EVENTS // 32, (b, read)
        full = store.state_as_of(marks[b])
        assert past.state.seq == full.seq == 1 + (b + 1) * PER_BATCH
        assert past.state.declarations == full.declarations and past.state.measures == full.measures
    # Appended since: only that is read, then the picture is as bounded as before.
    store.append([fire("late", 999)])
    before = history.events_read
    assert "late" in history.at(datetime.now(UTC)).state.declarations
    assert history.events_read - before == 1


def test_thinned_checkpoints_keep_the_replay_within_the_spacing(store: Store) -> None:
    marks = fill(store)
    history = History(store, spacing=100, max_checkpoints=8)
    history.at(marks[0])
    assert history.spacing > 100  # thinned: 500 checkpoints would not fit in 8
    for b in range(0, BATCHES, 7):
        before = history.events_read
        past = history.at(marks[b])
        assert history.events_read - before <= history.spacing
        full = store.state_as_of(marks[b])
        assert past.state.seq == full.seq and past.state.declarations == full.declarations
