"""Group commit: submits decided in batches under the lock rows of their cells.

Submits that arrive while the lock is busy queue up; whoever takes it next
(a request's thread, or the committer thread for an event loop) checks the
queue before any row is taken (service/optimistic.py), claims the rows of the
cells the batch reaches (engine/cells.py), decides each submit in turn
(service/hotline/activities.py) and appends all accepted ones in one
transaction. Separate because it is the concurrency of acceptance, not its
judgement: how many submits share a lock and an fsync, never what is accepted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from deconflict.engine import cells
from deconflict.engine.parts import Part, declaration_parts
from deconflict.errors import DeconflictError, InvalidInput, Unavailable
from deconflict.model import Declaration
from deconflict.service import optimistic, receipts
from deconflict.service.auth import Action, Principal
from deconflict.service.deconflict import Change
from deconflict.service.hotline.activities import Activities
from deconflict.service.hotline.submission import MAX_OVERRIDE_REASON, IdempotencyMismatch, Render, Submission
from deconflict.store.events import EventDraft

#: Claims of a batch's cells tried before it is decided holding every row.
CLAIM_ATTEMPTS = 3


class GroupCommit(Activities):
    def _precheck(self, batch: list[Submission]) -> None:
        """Check the batch against everything in force before the store's lock rows
        are taken (under :attr:`_lock`); under them, only against what changed
        since (service/optimistic.py)."""
        try:
            self.service.sync()
        except Exception:  # the store failed: the decision under the rows meets it and answers the batch
            return
        engine = self.service.engine
        for item in batch:
            if item.pre is not None:
                continue
            try:
                if item.parts is not None:
                    engine.adopt(item.activity, item.parts)
                item.pre = optimistic.Prechecked(self.service.seq, self.service.check(item.activity))
                self.checked_before_lock += 1
            except Exception:  # decided (and refused, naming the field) under the rows as before
                item.pre = None

    def _admit(self, who: Principal, activity: Declaration, override_reason: str, idempotency_key: str,
               request_sha256: str, chosen_id: bool) -> Submission:
        who.require(Action.SUBMIT)
        self._owned(who, activity)
        # Here, in the core, so that no adapter can skip it: the id a party chose
        # is in its own namespace, and its answer never depends on others' ids.
        activity = self.own_id(who, activity) if chosen_id else activity
        if len(override_reason) > MAX_OVERRIDE_REASON:
            raise InvalidInput("override_reason", f"must be at most {MAX_OVERRIDE_REASON} characters")
        return Submission(who, activity, override_reason, idempotency_key, request_sha256)

    def submit(self, who: Principal, activity: Declaration, *, override_reason: str = "",
               idempotency_key: str = "", request_sha256: str = "", chosen_id: bool = True
               ) -> tuple[bool, dict[str, Any]]:
        """Check and accept atomically. Returns (created, response).

        Group commit: submits that arrive while the lock is busy queue up, and
        whoever takes the lock next decides them all, one after the other (each
        checked against those accepted before it, so acceptance stays
        serialisable), then makes them durable in one transaction, one fsync,
        before any of them is answered."""
        item = self._admit(who, activity, override_reason, idempotency_key, request_sha256, chosen_id)
        item.parts = self.service.engine.prebuild(item.activity)
        with self._pending_lock:
            self._pending.append(item)
        try:
            with self._lock:
                if not item.done:
                    self._decide_queued()
        except BaseException:
            # The store failed before this thread could decide. Unless another
            # thread's batch took the item, take it back: the caller is told it
            # failed, so it must not be accepted later behind its back.
            with self._pending_lock:
                if item in self._pending:
                    self._pending.remove(item)
                    raise
            with self._lock:
                pass  # the batch that took it holds the lock until it is decided
            if not item.done:
                raise
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def enqueue(self, who: Principal, activity: Declaration, on_done: Callable[[Submission], None], *,
                override_reason: str = "", idempotency_key: str = "", request_sha256: str = "",
                parts: list[Part] | None = None, chosen_id: bool = True) -> None:
        """Submit without waiting: the committer thread decides it with whatever
        else is queued and calls ``on_done(item)`` (on its own thread) once the
        answer is durable. For an event loop, which must not block on the lock
        or on the fsync: one thread hand-off per batch, not per request.

        Raises at once (nothing queued) if the caller may not submit it."""
        item = self._admit(who, activity, override_reason, idempotency_key, request_sha256, chosen_id)
        item.on_done = on_done
        item.parts = parts
        with self._queued:
            if self._committer_stop:
                raise Unavailable("the service is shutting down")
            if self._committer is None:
                self._committer = threading.Thread(target=self._commit_forever, name="committer", daemon=True)
                self._committer.start()
            self._pending.append(item)
            self._queued.notify()

    def _commit_forever(self) -> None:
        while True:
            with self._queued:
                while not self._pending and not self._committer_stop:
                    self._queued.wait()
                if not self._pending:
                    return
            # A store that failed has answered the batch it took with the error.
            with contextlib.suppress(Exception), self._lock:
                self._decide_queued()

    @staticmethod
    def _finish(batch: list[Submission]) -> None:
        for item in batch:
            item.done = True
            if item.on_done is not None:
                # A waiter gone (its event loop closed) must not keep the others unanswered.
                with contextlib.suppress(Exception):
                    item.on_done(item)

    def stop_committer(self) -> None:
        """Decide and commit whatever is queued, then end the committer thread."""
        with self._queued:
            self._committer_stop = True
            self._queued.notify_all()
            committer = self._committer
        if committer is not None:
            committer.join()

    def _claim(self, batch: list[Submission], reaches: dict[int, tuple[Declaration, list[cells.Reach]]]
               ) -> cells.Claim:
        """The lock rows deciding ``batch`` needs (engine/cells.py): each activity's
        reach and, for an amendment, the reach of the version it replaces (whose
        removal others' checks would see), its id and its idempotency key.
        ``reaches`` keeps what was computed, by declaration object."""
        engine = self.service.engine
        margins = engine.margins
        keys: set[str] = set()
        found: list[cells.Reach] = []

        def reach(decl: Declaration, parts: list[Part] | None) -> list[cells.Reach]:
            kept = reaches.get(id(decl))
            if kept is None or kept[0] is not decl:
                try:
                    built = parts if parts is not None else declaration_parts(decl)
                except DeconflictError:
                    built = []  # refused in the decision, before anything depends on it
                kept = reaches[id(decl)] = (decl, cells.declaration_reach(built, margins))
            return kept[1]

        try:
            for item in batch:
                keys.add(cells.id_key("d", item.activity.id))
                if item.idempotency_key:
                    keys.add(cells.id_key("k", f"{item.who.party}\n{item.idempotency_key}"))
                found += reach(item.activity, item.parts)
                if engine.has_declaration(item.activity.id):
                    found += reach(engine.get_declaration(item.activity.id), None)
            # Global shared whatever the reach (none, for an activity that will be
            # refused as invalid): every decision reads the parties and the margins.
            return cells.claim(found) | cells.Claim(frozenset(keys), frozenset({cells.GLOBAL}))
        except (OverflowError, ValueError):  # a window at the edge of time: lock everything
            return cells.EVERYTHING

    def _decide_queued(self) -> None:
        """Decide the queued submits (under :attr:`_lock`) holding only the lock
        rows of the cells they reach: processes deciding elsewhere go on at the
        same time. The claim is made on what this process knew before the rows
        were its own and checked again once it has folded in the others' events
        (the margins or an amended version may have changed): if it falls
        short, the rows are given back and a larger claim taken."""
        with self._pending_lock:
            queued = list(self._pending)
        # Checked while still queued, before any row is taken (a failure there is
        # the item's full check under the rows, as before).
        self._precheck(queued)
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            reaches: dict[int, tuple[Declaration, list[cells.Reach]]] = {}
            claim = self._claim(batch, reaches)
            for _attempt in range(CLAIM_ATTEMPTS):
                with self.service.deciding(claim):
                    need = self._claim(batch, reaches)
                    if claim.covers(need):
                        self._run_batch(batch)
                        return
                claim = claim | need
            with self.service.deciding(cells.EVERYTHING):
                self._run_batch(batch)
        except Exception as exc:  # the store failed before the batch was decided
            undecided = [item for item in batch if not item.done]
            for item in undecided:
                item.error = exc
            self._finish(undecided)
            raise

    def _run_batch(self, batch: list[Submission]) -> None:
        """Decide every submit of ``batch``, then append all accepted ones at once
        (under the rows of their cells). Their events are numbered when appended
        (others may append in between), so each response, which names its
        references, is made then (:meth:`Deconflict.append_numbered`)."""
        engine = self.service.engine
        plan: list[tuple[Submission | None, Render | list[EventDraft]]] = []
        undo: list[tuple[str, Declaration | None]] = []
        tentative: dict[tuple[str, str], Submission] = {}
        replays: list[tuple[Submission, Submission]] = []
        for item in batch:
            try:
                key = (item.who.party, item.idempotency_key)
                if item.idempotency_key and key in tentative:
                    first = tentative[key]
                    if first.request_sha256 != item.request_sha256:
                        raise IdempotencyMismatch(item.idempotency_key)
                    item.depends_on_batch = True
                    replays.append((item, first))
                    continue
                if item.idempotency_key and key in self._idempotent:
                    digest, response = self._idempotent[key]
                    if digest != item.request_sha256:
                        raise IdempotencyMismatch(item.idempotency_key)
                    item.result = (False, response)
                    continue
                if item.parts is not None:
                    engine.adopt(item.activity, item.parts)
                render = self._decide(item, {i for i, _prev in undo})
            except Exception as exc:  # this item fails alone; the others go on
                # Without its traceback, a refusal holds no frame of this batch (whose
                # locals hold the items, and so the refusal): no cycle to outlive the
                # request, which the server's collector policy (service/heap.py) could
                # freeze while in flight and never reclaim.
                item.error = exc.with_traceback(None) if isinstance(exc, DeconflictError) else exc
                if item.probe:
                    plan.append((None, item.probe))
                continue
            previous = engine.get_declaration(item.activity.id) if engine.has_declaration(item.activity.id) else None
            self.service.to_engine([Change(declaration=item.activity)])
            undo.append((item.activity.id, previous))
            if item.idempotency_key:
                tentative[key] = item
            plan.append((item, render))

        def build(start: int) -> list[EventDraft]:
            out: list[EventDraft] = []
            for decided, step in plan:
                if isinstance(step, list):  # a refusal's record of a probe
                    out.extend(step)
                    continue
                response, drafts = step(start + len(out))
                if decided is not None:
                    decided.result = (True, response)
                out.extend(drafts)
            return out

        try:
            events = self.service.append_numbered(build) if plan else []
        except Exception as exc:
            # Nothing of the batch is durable: take it back out of the engine, so
            # the engine never holds what the log does not.
            for decl_id, previous in reversed(undo):
                engine.remove_declaration(decl_id)
                if previous is not None:
                    engine.add_declaration(previous)
            for decided, _step in plan:
                if decided is not None:
                    decided.result, decided.error = None, exc
            for replay, _first in replays:
                replay.error = exc
        else:
            for item, first in replays:
                if first.result is not None:
                    item.result = (False, first.result[1])
            self._after(events)
            receipts.attach_to_submits(self.service.store, batch, events, self._accepted_seq)
        self._finish(batch)

