"""The application service: the durable store and the in-memory engine as one.

Every change is validated in full, then appended to the log (durable before
this returns), then applied to the engine. A change that fails validation
writes nothing; a change that is acknowledged survives a crash, because the
engine is rebuilt from the log at start.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from deconflict.engine import Engine
from deconflict.engine.cells import Claim
from deconflict.errors import InvalidInput, NotFound, StoreError
from deconflict.geo.shape import trusted
from deconflict.model import (
    CautionMargins,
    CheckResult,
    Declaration,
    Measure,
    Party,
)
from deconflict.service import heap
from deconflict.store import startup, tree
from deconflict.store.documents import encode_declaration, encode_measure, encode_party
from deconflict.store.events import GENESIS_HASH, Event, EventDraft
from deconflict.store.keys import KeyRing
from deconflict.store.open import open_store
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore
from deconflict.store.state import (
    Change as StateChange,
)
from deconflict.store.state import (
    PutDeclaration,
    PutMeasure,
    PutParty,
    RemoveMeasure,
    SetMargins,
    State,
    decode_change,
)

Progress = Callable[[int], None]

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Change:
    """One thing to declare or withdraw, as part of a batch."""

    declaration: Declaration | None = None
    measure: Measure | None = None
    party: Party | None = None


def margins_payload(m: CautionMargins) -> dict[str, float]:
    return {
        "caution_horizontal_m": m.horizontal_m,
        "caution_vertical_m": m.vertical_m,
        "caution_minutes": m.minutes,
    }


class Deconflict:
    """Parties, measures and declarations in force, and checks against them."""

    def __init__(self, store: Store, *, progress: Progress | None = None, use_snapshot: bool = True) -> None:
        self.store = store
        #: Told of every event this service sees, its own appends and other
        #: processes' (see :meth:`sync`), in log order.
        self.followers: list[Callable[[Event], None]] = []
        self._seen_version: int | None = None
        #: The cell rows held by :meth:`deciding`, when it holds fewer than all:
        #: others may append in between, elsewhere (engine/cells.py).
        self._cells: Claim | None = None
        #: The service's own sections of the snapshot it started from (store/startup.py):
        #: the hotline's state at :attr:`snapshot_seq`, for instance.
        self.snapshot_sections: dict[str, bytes] = {}
        #: The event the start-up snapshot was taken at (None: a cold start).
        self.snapshot_seq: int | None = None
        with heap.paused():
            restored = self._restored() if use_snapshot else None
            if restored is not None:
                self.engine = startup.engine_of(restored)
        if restored is not None:
            # Serve nothing the log cannot vouch for: the snapshot is signed and bound
            # to event ``seq``'s hash (checked in startup.load), and the log after it
            # is checked here, hash by hash and against every signed checkpoint
            # (docs/store.md, "Start-up from a snapshot").
            report = store.vouch(base=restored.base)
            self.seq = self.snapshot_seq = restored.base.seq
            self.snapshot_sections = restored.sections
            self._vouched = (report.events, report.frontier)
            # The tail: what was appended after the snapshot, as a follower takes it in.
            for e in store.events_after(self.seq):
                self._take_in(e)
            return
        # Serve nothing the log cannot vouch for (store/vouch.py): raises
        # TamperedLog naming the first bad event, state row or checkpoint.
        report = store.vouch()
        self._vouched = (report.events, report.frontier)
        with store.snapshot() as snap:
            #: The last event the engine reflects.
            self.seq = snap.seq
            self.engine = Engine(snap.margins or CautionMargins())
            for party in snap.parties:
                self.engine.add_party(party)
            with trusted():  # the log's: validated when accepted, not again at every start
                for measure in snap.measures:
                    self.engine.add_measure(measure)
            self.engine.load(snap.declarations, progress, from_log=True)

    def _restored(self) -> startup.Restored | None:
        """The store's start-up snapshot, verified (store/startup.py); None when there
        is none or it is to be ignored; raises SnapshotMismatch when it is refused."""
        buf = self.store.startup_buffer()
        if buf is None:
            return None
        return startup.load(buf, self.store.verifiers(), self.store.event_row)

    def write_snapshot(self, sections: Callable[[], dict[str, bytes]] | None = None, *,
                       lock: contextlib.AbstractContextManager[Any] | None = None,
                       during: Callable[[], None] | None = None) -> int:
        """Write the store's start-up snapshot of the state now; ``sections`` gives
        the service's own parts at that same event. Returns its seq. Needs the log's
        signing key (the one checkpoints are signed with).

        Not as the store's writer: the state is copied at one event (after a sync,
        under ``lock``, the caller's lock over this service and ``sections``'
        state, held for the copy only), then encoded, signed and written while
        other processes, and this one, go on deciding and appending. What it
        reads of the store are events up to that one, which never change (the
        log is append-only, and was vouched for): the snapshot is bound to that
        event's seq and hash whatever was appended meanwhile. ``during`` is
        called once the copy is taken and ``lock`` let go (tests act there)."""
        with lock if lock is not None else contextlib.nullcontext():
            self.sync()
            seq = self.seq
            n, frontier = self._vouched
            frontier = frontier.copy()
            captured = startup.capture(self.engine)
            extra = sections() if sections is not None else None
        if during is not None:
            during()
        if seq < n:
            raise StoreError(f"the engine is at event {seq}, behind the {n} events vouched for")
        after = n
        while after < seq:
            page = self.store.events_page(after, min(seq - after, 10_000))
            if not page:
                raise StoreError(f"the log has no event {after + 1}, below the engine's {seq}")
            for e in page:
                frontier.add(tree.event_leaf(e.hash))
            after = page[-1].seq
        head = self.store.event_row(seq) if seq else None
        digest, at = (str(head[7]), str(head[1])) if head is not None else (GENESIS_HASH, "")
        signer = KeyRing.load(self.store.key_file()).signer
        body = startup.encode(captured, startup.Base(seq, digest, at, frontier), signer, extra)
        self.store.put_startup(body)
        return seq

    # -- other writers -------------------------------------------------------
    def sync(self) -> list[Event]:
        """Apply what other processes (server workers, the CLI) appended to the
        store since this one last looked; returns those events.

        Every write below syncs under the store's exclusive lock first, so it
        decides on everything in force and nobody appends in between."""
        self._seen_version, events = self.store.news(self.seq, self._seen_version)
        for e in events:
            self._take_in(e)
        return events

    def _follow(self, change: StateChange) -> None:
        engine = self.engine
        if isinstance(change, PutParty):
            if change.party.id not in engine.parties:
                engine.add_party(change.party)
        elif isinstance(change, SetMargins):
            engine.margins = change.margins
        elif isinstance(change, PutMeasure):
            engine.add_measure(change.measure, replace=True)
        elif isinstance(change, RemoveMeasure):
            with contextlib.suppress(NotFound):
                engine.remove_measure(change.id)
        elif isinstance(change, PutDeclaration):
            engine.add_declaration(change.declaration, replace=True)
        else:
            with contextlib.suppress(NotFound):
                engine.remove_declaration(change.id)

    def _wrote(self, events: list[Event]) -> list[Event]:
        """This service's own events, appended after a sync; under cell rows,
        others' events numbered before them are folded in first, so the
        followers hear the log in its order."""
        if events:
            if events[0].seq > self.seq + 1:
                for e in self.store.events_between(self.seq, events[0].seq):
                    self._take_in(e)
            self.seq = events[-1].seq
            for e in events:
                for tell in self.followers:
                    tell(e)
        return events

    def _take_in(self, e: Event) -> None:
        change = decode_change(e.type, e.subject, e.payload)
        if change is not None:
            with trusted():  # validated by the process that appended it
                self._follow(change)
        self.seq = e.seq
        for tell in self.followers:
            tell(e)

    @contextlib.contextmanager
    def deciding(self, claim: Claim) -> Iterator[None]:
        """Decide on what ``claim``'s cells hold (engine/cells.py): lock its rows,
        fold in what others appended, and append, within the block, after
        whatever others append elsewhere meanwhile (:meth:`append`,
        :meth:`append_numbered`). Only what the claim's cells cover may be
        read to decide."""
        with self.store.exclusive(claim):
            outer, self._cells = self._cells, (None if claim.is_global else claim)
            try:
                self.sync()
                yield
            finally:
                self._cells = outer

    @classmethod
    def open(cls, path: Path | str | None = None, *, progress: Progress | None = None) -> Deconflict:
        return cls(open_store(path), progress=progress)

    @classmethod
    def temporary(cls) -> Deconflict:
        """A service on a fresh store in a new temporary directory (demos, dry runs)."""
        folder = Path(tempfile.mkdtemp(prefix="deconflict-"))
        return cls(SQLiteStore(folder / "deconflict.sqlite3"))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Deconflict:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------
    @property
    def margins(self) -> CautionMargins:
        return self.engine.margins

    def parties(self) -> dict[str, Party]:
        return self.engine.parties

    def measures(self) -> list[Measure]:
        return self.engine.measures()

    def declarations(self) -> list[Declaration]:
        return list(self.engine.declarations())

    def state_as_of(self, instant: datetime) -> State:
        return self.store.state_as_of(instant)

    # -- changes -------------------------------------------------------------
    def set_margins(self, margins: CautionMargins, actor: str = ADMIN) -> Event:
        with self.store.exclusive():
            self.sync()
            draft = EventDraft("settings.changed", actor, "", margins_payload(margins))
            [event] = self.store.append([draft], after=self.seq)
            self.engine.margins = margins
            return self._wrote([event])[0]

    def add_party(self, party: Party, actor: str = ADMIN) -> Event:
        return self.apply([Change(party=party)], actor)[0]

    def add_measure(self, measure: Measure, actor: str = ADMIN) -> Event:
        return self.apply([Change(measure=measure)], actor)[0]

    def declare(self, decl: Declaration, actor: str | None = None) -> Event:
        return self.apply([Change(declaration=decl)], actor or decl.owner)[0]

    def apply(self, changes: Sequence[Change], actor: str = ADMIN,
              progress: Progress | None = None, extra: Sequence[EventDraft] = ()) -> list[Event]:
        """Validate every change, append them in one transaction, then apply them.

        All or nothing: one invalid item and nothing is written. Items may
        refer to parties added earlier in the same batch."""
        with self.store.exclusive():
            self.sync()
            drafts = self.prepare(changes, actor, progress)
            events = self.store.append([*drafts, *extra], after=self.seq)
            self.to_engine(changes)
            return self._wrote(events)

    def prepare(self, changes: Sequence[Change], actor: str = ADMIN,
                progress: Progress | None = None) -> list[EventDraft]:
        """Validate the changes and return their events, writing nothing."""
        known = set(self.engine.parties)
        drafts: list[EventDraft] = []
        scratch = self.engine
        if any(ch.party is not None for ch in changes):
            # Later items may name parties added earlier in the batch: validate
            # against a scratch engine that has them, not the live one.
            scratch = Engine(self.engine.margins)
            for pid in sorted(known):
                scratch.add_party(self.engine.parties[pid])
        seen: set[str] = set()
        for i, ch in enumerate(changes):
            where = f"[{i}]" if len(changes) > 1 else ""
            try:
                if ch.party is not None:
                    if ch.party.id in known:
                        raise InvalidInput("id", f"party {ch.party.id!r} already exists")
                    known.add(ch.party.id)
                    scratch.add_party(ch.party)
                    drafts.append(EventDraft("party.added", actor, ch.party.id, encode_party(ch.party)))
                elif ch.measure is not None:
                    scratch.validate_measure(ch.measure)
                    drafts.append(
                        EventDraft("measure.added", actor, ch.measure.id, encode_measure(ch.measure))
                    )
                elif ch.declaration is not None:
                    decl = ch.declaration
                    scratch.validate_declaration(decl)
                    if decl.id in seen:
                        raise InvalidInput("id", f"declaration {decl.id!r} appears twice in the batch")
                    seen.add(decl.id)
                    drafts.append(
                        EventDraft("declaration.declared", actor, decl.id, encode_declaration(decl))
                    )
            except InvalidInput as exc:
                raise exc.within(where) if where else exc from None
            if progress is not None and (i + 1) % 1000 == 0:
                progress(1000)
        return drafts

    def to_engine(self, changes: Sequence[Change]) -> None:
        """Apply validated changes to the engine (after their events are durable)."""
        for ch in changes:
            if ch.party is not None:
                self.engine.add_party(ch.party)
            elif ch.measure is not None:
                self.engine.add_measure(ch.measure, replace=True)
            elif ch.declaration is not None:
                self.engine.add_declaration(ch.declaration, replace=True)

    def withdraw(self, decl_id: str, actor: str, extra: Sequence[EventDraft] = ()) -> list[Event]:
        with self.store.exclusive():
            self.sync()
            decl = self.engine.get_declaration(decl_id)
            if actor not in (ADMIN, decl.owner):
                raise InvalidInput("id", f"declaration {decl_id!r} belongs to {decl.owner}, not {actor}")
            events = self.store.append([EventDraft("declaration.withdrawn", actor, decl_id, {"id": decl_id}),
                                        *extra], after=self.seq)
            self.engine.remove_declaration(decl_id)
            return self._wrote(events)

    def append(self, drafts: Sequence[EventDraft]) -> list[Event]:
        """Events whose declarations are already in the engine (a submit's,
        decided under :meth:`SQLiteStore.exclusive`) or that change no
        declaration, measure or party (notifications, credentials, agreements)."""
        with self.store.exclusive():
            self.sync()
            # Under cell rows others append elsewhere: the log's order is the head
            # row's, and the rows this decision read are still its own.
            after = None if self._cells is not None else self.seq
            return self._wrote(self.store.append(drafts, after=after))

    def append_numbered(self, build: Callable[[int], Sequence[EventDraft]]) -> list[Event]:
        """:meth:`append` of ``build(first)``, ``first`` the number its first event gets."""
        with self.store.exclusive():
            if self._cells is None:
                self.sync()
                return self._wrote(self.store.append(build(self.seq + 1), after=self.seq))
            # Folded in when the rows were taken; what others append elsewhere since is
            # folded in after, in log order (:meth:`_wrote`): no round trip here.
            return self._wrote(self.store.append_numbered(build))

    def withdraw_measure(self, measure_id: str, actor: str = ADMIN) -> Event:
        with self.store.exclusive():
            self.sync()
            if measure_id not in {m.id for m in self.engine.measures()}:
                raise NotFound("measure", measure_id)
            draft = EventDraft("measure.withdrawn", actor, measure_id, {"id": measure_id})
            [event] = self.store.append([draft], after=self.seq)
            self.engine.remove_measure(measure_id)
            return self._wrote([event])[0]

    # -- checks ------------------------------------------------------------------
    def check(self, activity: Declaration) -> CheckResult:
        """A dry run: checks the activity against everything in force, writes nothing."""
        return self.engine.check(activity)
