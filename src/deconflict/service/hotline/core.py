"""The hotline's state, and how it reads and writes the log.

The hotline is one object (:class:`~deconflict.service.hotline.Hotline`) built
from the concepts of this package; this one holds what they all share: the
state folded from the event log (service/hotline/fold.py) and the lock
discipline every operation goes through. A writer decides and appends as the
store's only writer, after folding in other processes' appends; a reader
folds them in and reads holding the lock; every append wakes the streams.
Separate because every other part of the hotline stands on it, and none of
them is needed to understand it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from deconflict.errors import DeconflictError
from deconflict.model import Declaration
from deconflict.service import optimistic, startup
from deconflict.service.auth import Keyring
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import fold
from deconflict.service.hotline.fold import Proposal
from deconflict.service.hotline.submission import Submission
from deconflict.service.notifications import Inbox
from deconflict.service.notify import Deadlines
from deconflict.service.probing import ProbeLedger
from deconflict.service.references import References
from deconflict.service.settings import Settings
from deconflict.store.events import Event, EventDraft

DEFAULT_ACK_DEADLINE = timedelta(minutes=15)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class Core:
    """The hotline's state and its access to the log (see the module's docstring)."""

    def __init__(self, service: Deconflict, *, ack_deadline: timedelta = DEFAULT_ACK_DEADLINE,
                 clock: Clock = _now) -> None:
        self.service = service
        self.ack_deadline = ack_deadline
        self.clock = clock
        self.keyring = Keyring()
        self.inbox = Inbox()
        self.refs = References()
        self.settings = Settings()
        self.deadlines = Deadlines(self.settings, lambda: self.ack_deadline)
        self.proposals: dict[str, Proposal] = {}
        self.versions: dict[str, int] = {}
        self.measure_history: dict[str, list[dict[str, Any]]] = {}
        #: Activity id -> what its last submit was told (verdict, override, when, by whom).
        self.accepted: dict[str, dict[str, Any]] = {}
        self.withdrawn: dict[str, Declaration] = {}
        self._idempotent: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        #: The ``activity.accepted`` event of each idempotent submit: its receipt for replays.
        self._accepted_seq: dict[tuple[str, str], int] = {}
        self._notified: dict[str, set[str]] = {}  # activity id -> parties told about it
        # Declaration id -> (owner, shared with all, shared with): what the last
        # declaration of that id said, so the stream never reveals more than it did.
        self._sharing: dict[str, tuple[str, bool, frozenset[str]]] = {}
        # Withdrawal event seq -> the sharing of what it withdrew. The id's current
        # sharing is not enough: an id shared with all, withdrawn and declared again
        # privately hid the first withdrawal from a replay (lost on resume).
        self._withdrawn_sharing: dict[int, tuple[str, bool, frozenset[str]]] = {}
        self.probes = ProbeLedger()
        self._lock = threading.RLock()
        # Submits waiting for the lock; whoever takes it decides them all (group commit).
        self._pending: list[Submission] = []
        self._pending_lock = threading.Lock()
        self._queued = threading.Condition(self._pending_lock)
        self._committer: threading.Thread | None = None
        self._committer_stop = False
        self._changed = threading.Condition(self._lock)
        self.head = 0
        self.closing = False
        #: Called (on any thread) whenever the log grew or streams must close:
        #: the asynchronous streams' wake-up (service/streams.py).
        self.listeners: list[Callable[[], None]] = []
        service.followers.append(self._absorb)
        self.journal = optimistic.Journal()
        service.followers.append(self.journal)
        #: How submits were checked under the store's lock: against the delta, or in full.
        self.checked_under_lock = {"delta": 0, "full": 0}
        #: Submits checked before the store's lock rows were taken (service/optimistic.py).
        self.checked_before_lock = 0
        # From the start-up snapshot's event on, when the service started from one.
        for event in service.store.events(after_seq=startup.resume(self)):
            self._absorb(event)
        with self._lock:
            # What was appended after the engine's snapshot (by another worker).
            service.sync()

    # -- the log ----------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Decide and append as the store's only writer, on everything in force:
        other processes' appends are folded in first, and none can come in
        between (:meth:`SQLiteStore.exclusive`)."""
        with self._lock, self.service.store.exclusive():
            self.service.sync()
            yield

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            self.service.sync()
            yield

    def catch_up(self) -> int:
        """Fold in what other processes appended (server workers, the CLI) and
        wake the streams; returns how many events there were."""
        with self._lock:
            n = len(self.service.sync())
            if n:
                self._changed.notify_all()
                self._tell_listeners()
            return n

    def follow(self, stop: threading.Event, every: float) -> None:
        """Fold in other processes' appends until ``stop`` is set: as soon as the
        store says one came (PostgreSQL's NOTIFY), and every ``every`` seconds
        whatever it says, since reading the log by sequence number is the truth
        and a wake-up can be lost."""
        while not stop.is_set():
            self.service.store.wait_for_log(every)
            if stop.is_set():
                return
            with contextlib.suppress(DeconflictError):
                self.catch_up()

    #: Fold one event into what the hotline remembers beyond the store's state
    #: (service/hotline/fold.py); the service calls it for every event.
    _absorb = fold.absorb

    def _append(self, drafts: list[EventDraft]) -> list[Event]:
        events = self.service.append(drafts)
        self._after(events)
        return events

    def record(self, drafts: list[EventDraft]) -> list[Event]:
        """Append events that decide nothing and change no declaration, measure or
        party (a witness's report, track alerts and assets), as a writer."""
        with self._writing():
            return self._append(drafts)

    def _after(self, events: list[Event]) -> None:
        """Wake the streams (the service told :meth:`_absorb` of the events)."""
        if events:
            self._changed.notify_all()
            self._tell_listeners()

    def _tell_listeners(self) -> None:
        for listener in list(self.listeners):
            with contextlib.suppress(Exception):
                listener()

    # -- live tracks (deconflict.tracks) -----------------------------------------------
    def read_service(self, fn: Callable[[Deconflict], Any]) -> Any:
        """``fn(service)`` with the engine current and still: a quick copy, nothing more."""
        with self._reading():
            return fn(self.service)

    # -- the live stream ---------------------------------------------------------------
    def close_streams(self) -> None:
        """End every open stream (at shutdown); clients resume from their last id."""
        with self._changed:
            self.closing = True
            self._changed.notify_all()
        self._tell_listeners()

