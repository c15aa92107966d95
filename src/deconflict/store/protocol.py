"""What every store offers the service: the event log, the state it adds up to,
snapshots, the past, and one writer at a time.

Two stores implement it: :class:`~deconflict.store.sqlite.SQLiteStore` (one
file, one machine) and :class:`~deconflict.store.postgres.PostgresStore`
(one PostgreSQL database that several machines share). Both write the same
canonical bytes and the same hash chain (:mod:`deconflict.store.events`), so a
log can move from one to the other and verify unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from deconflict.engine.cells import Claim
from deconflict.model import CautionMargins, Declaration, Measure, Party
from deconflict.store.events import Event, EventDraft
from deconflict.store.note import Verifier
from deconflict.store.sqlite import Snapshot
from deconflict.store.startup import Base
from deconflict.store.state import State
from deconflict.store.vouch import Report


@runtime_checkable
class Store(Protocol):
    """An append-only, hash-chained event log and the current state it implies."""

    def exclusive(self, claim: Claim | None = None) -> AbstractContextManager[None]:
        """Be the only writer that decides on the rows of ``claim`` (on everything
        when none is given), across threads, processes and hosts, until the block
        ends. Reentrant within a thread. A store may lock more than asked (the
        SQLite store locks its whole file), never less."""
        ...

    def append(self, drafts: Sequence[EventDraft], *, after: int | None = None) -> list[Event]:
        """Record ``drafts`` as consecutive events, all or nothing, durable on
        return; with ``after``, refuse (``StaleWrite``) if the log moved on."""
        ...

    def append_numbered(self, build: Callable[[int], Sequence[EventDraft]]) -> list[Event]:
        """Record ``build(first)``, ``first`` being the number its first event gets
        (events that name their own numbers, decided while others append elsewhere)."""
        ...

    def events(self, *, after_seq: int = 0) -> Iterator[Event]: ...

    def events_after(self, seq: int) -> list[Event]: ...

    def events_between(self, after: int, before: int) -> list[Event]:
        """The events numbered strictly between ``after`` and ``before`` (all
        appended already: those others appended just before this store's own)."""
        ...

    def wait_for_log(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s, less if the store can tell that another process
        appended (True then). A hint only: followers read the log by ``seq``."""
        ...

    def data_version(self) -> int:
        """Changes when another writer has committed since this store last looked."""
        ...

    def news(self, after: int, seen: int | None) -> tuple[int | None, list[Event]]:
        """The events after ``after``, and the token to pass as ``seen`` next time.
        A store that can tell cheaply that nobody else appended since the call that
        gave ``seen`` returns no events without reading them (SQLite's
        data_version); one that cannot reads them, which is as cheap as asking."""
        ...

    def head(self) -> Event | None: ...

    def verify(self) -> int: ...

    def state_as_of(self, instant: datetime) -> State: ...

    def parties(self) -> list[Party]: ...

    def measures(self) -> list[Measure]: ...

    def declarations(self) -> Iterator[Declaration]: ...

    def snapshot(self) -> AbstractContextManager[Snapshot]: ...

    def count_declarations(self) -> int: ...

    def margins(self) -> CautionMargins | None: ...

    def close(self) -> None: ...

    # -- paging, and what the log can prove (store/vouch.py, store/tree.py) ------------
    def events_page(self, after_seq: int, limit: int) -> list[Event]:
        """At most ``limit`` events after ``after_seq``, in order."""
        ...

    def log_span(self) -> tuple[str | None, str | None]:
        """When the first and the last event were recorded (None for an empty log)."""
        ...

    def vouch(self, *, held: Sequence[str] = (), keys: Sequence[Verifier] = (),
              base: Base | None = None) -> Report:
        """Check everything the store can check; raise ``TamperedLog`` naming the first bad event.
        From ``base`` (a verified start-up snapshot), the log after it only (store/startup.py)."""
        ...

    # -- start-up snapshots (store/startup.py) ---------------------------------------
    def put_startup(self, body: bytes) -> None:
        """Keep ``body`` as the start-up snapshot (replacing any)."""
        ...

    def startup_buffer(self) -> memoryview | None:
        """The start-up snapshot, read-only (shared by the store's processes where it can be)."""
        ...

    def drop_startup(self) -> None: ...

    def key_file(self) -> Path:
        """The log's signing key file on this host."""
        ...

    def event_row(self, seq: int) -> tuple[Any, ...] | None:
        """Event ``seq``'s stored fields (seq, recorded_at, type, actor, subject,
        payload, prev_hash, hash), unchecked; None when there is none."""
        ...

    def verifiers(self) -> list[Verifier]: ...

    def checkpoint(self) -> tuple[int, str] | None: ...

    def receipt(self, seq: int) -> dict[str, Any]: ...

    def receipts(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]: ...

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]: ...

    def consistency_proof(self, old: int, new: int) -> list[bytes]: ...

    def check_signing(self) -> None:
        """Raise ``StoreError`` (saying why) if this process could not sign the next
        checkpoint, so no append could succeed: a server checks it before it serves."""
        ...

    def rotate_key(self) -> Verifier:
        """A new signing key under the log's origin; old checkpoints stay verifiable."""
        ...

    def published_checkpoint(self) -> str | None:
        """The last checkpoint this host published outside the database, if any."""
        ...

    # -- witnesses' cosignatures (service/witnesses.py) ------------------------------
    def add_cosignature(self, size: int, text: str, key: str, line: str) -> None: ...

    def cosignatures(self, size: int, text: str) -> list[str]: ...

    def witness_keys(self) -> list[str]: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...
