"""The state as of any instant, from checkpoints plus a bounded replay (issue 9).

``GET /v1/picture?as_of=`` replayed the whole log on every call (9 s at 58k
events). :class:`History` reads the log once, a page at a time, the first time
a worker is asked for the past, and then only what was appended since. On the
way it keeps checkpoints: copies of the state (and of the measure proposals
then pending) every ``spacing`` events. The state at an instant is the latest
checkpoint at or before it plus the events between, read from the store: at
most ``spacing`` of them. At most :data:`MAX_CHECKPOINTS` are kept; past that
every other one is dropped and the spacing doubles, so memory stays bounded
(the copies share the immutable declarations) and the replay stays within
``spacing``, a 32nd of the log at most.

The picture *now* needs none of this: it is the engine's state
(``web/api.py``), and costs no read of the log.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from deconflict.errors import InvalidInput, NotFound, StoreError
from deconflict.service.hotline import Proposal
from deconflict.store.documents import decode_measure
from deconflict.store.events import Event
from deconflict.store.protocol import Store
from deconflict.store.state import State

#: Events between checkpoints at first; it doubles each time the checkpoints are thinned.
FIRST_SPACING = 1024
#: Checkpoints kept at most: past that, every other one goes and the spacing doubles.
MAX_CHECKPOINTS = 64
#: Events read from the store at a time.
PAGE = 2000


@dataclass(frozen=True, slots=True)
class Past:
    """The state after event ``state.seq`` and the proposals then pending."""

    state: State
    proposals: list[Proposal]


def _copy_state(s: State) -> State:
    return State(dict(s.parties), dict(s.measures), dict(s.declarations), s.margins, s.seq)


def _copy_proposals(p: dict[str, Proposal]) -> dict[str, Proposal]:
    return {k: replace(v, accepted=set(v.accepted)) for k, v in p.items()}


def fold_proposal(pending: dict[str, Proposal], e: Event) -> None:
    """A measure proposal's life, as the hotline folds it (service/measure_life.py)."""
    p = e.payload
    if e.type == "agreement.proposed":
        m = decode_measure(p["measure"], "measure")
        pending[m.id] = Proposal(m, p["version"], e.actor, frozenset(p["bound"]))
    elif e.type == "agreement.accepted":
        prop = pending.get(p["id"])
        if prop is not None and prop.version == p["version"]:
            prop.accepted.add(p["party"])
    elif e.type == "agreement.in_force":
        prop = pending.get(p["id"])
        if prop is not None and prop.version <= p["version"]:
            del pending[p["id"]]
    elif e.type in ("agreement.declined", "agreement.withdrawn"):
        prop = pending.get(p["id"])
        if prop is not None and prop.version == p["version"]:
            del pending[p["id"]]


class History:
    """The past of one store, for one process."""

    def __init__(self, store: Store, *, spacing: int = FIRST_SPACING,
                 max_checkpoints: int = MAX_CHECKPOINTS) -> None:
        self.store = store
        self.spacing = spacing
        self.max_checkpoints = max_checkpoints
        #: Events read from the store so far (the tests' and the benchmark's measure).
        self.events_read = 0
        self._lock = threading.Lock()
        self._state = State()
        self._pending: dict[str, Proposal] = {}
        # The latest recording time among events 1..seq (index seq - 1), as a
        # POSIX timestamp: non-decreasing, so the cut at an instant is a bisection
        # and ends where the full replay (store.state_as_of) stopped, at the first
        # event recorded after the instant.
        self._latest = array("d")
        self._checkpoints: list[tuple[State, dict[str, Proposal]]] = [(State(), {})]

    @property
    def seq(self) -> int:
        return self._state.seq

    def at(self, instant: datetime) -> Past:
        """The state after every event recorded at or before ``instant``."""
        with self._lock:
            self._catch_up()
            cut = bisect_right(self._latest, instant.timestamp())  # events 1..cut
            if cut == self._state.seq:
                return Past(_copy_state(self._state), list(_copy_proposals(self._pending).values()))
            i = bisect_right([c[0].seq for c in self._checkpoints], cut) - 1
            base, proposals = self._checkpoints[i]
            state, pending = _copy_state(base), _copy_proposals(proposals)
            self._replay(state, pending, self._read(state.seq, cut))
            return Past(state, list(pending.values()))

    def _read(self, after: int, upto: int | None) -> Iterable[Event]:
        while upto is None or after < upto:
            want = PAGE if upto is None else min(PAGE, upto - after)
            page = self.store.events_page(after, want)
            self.events_read += len(page)
            yield from page
            if len(page) < want:
                return
            after = page[-1].seq

    def _replay(self, state: State, pending: dict[str, Proposal], events: Iterable[Event]) -> None:
        for e in events:
            try:
                state.apply(e)
            except (InvalidInput, NotFound) as exc:  # refused at append: a store that holds one was edited
                raise StoreError(f"event {e.seq} ({e.type}) cannot be replayed: {exc}") from None
            fold_proposal(pending, e)

    def _catch_up(self) -> None:
        """Fold in what was appended since the last call, checkpointing on the way."""
        for e in self._read(self._state.seq, None):
            self._replay(self._state, self._pending, (e,))
            t = e.recorded_at.timestamp()
            self._latest.append(max(t, self._latest[-1]) if self._latest else t)
            if e.seq - self._checkpoints[-1][0].seq >= self.spacing:
                self._checkpoints.append((_copy_state(self._state), _copy_proposals(self._pending)))
                if len(self._checkpoints) > self.max_checkpoints:
                    self._checkpoints = self._checkpoints[::2]
                    self.spacing *= 2
