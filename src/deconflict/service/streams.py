"""The live stream, asynchronous: no thread per stream, bounded memory per
stream, a bounded number of streams per credential and per party, and none
outliving its credential.

A stream is a coroutine on the event loop. It reads the log a page at a time
(a short hop to a worker thread per page, never the backlog at once), sends
what the caller may see, then waits on an asyncio event of its party's that the hotline sets
when the log grows by an event that may concern that party (its own appends,
or another worker's as the follower thread folds them in): :func:`audience`
names those parties, a superset of what ``log_view.concerns`` shows, and
everyone when it cannot tell. A stream woken reads only if something since
its point concerns its party; otherwise it moves past without reading. It
looks at its credential whenever it wakes: at once
when a revocation reaches the log, and when the one watcher per event loop
(every ``RECHECK_S``) finds an open stream's credential expired: a revoked or
expired credential ends its streams within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import itertools
import json
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from deconflict.errors import DeconflictError
from deconflict.service import log_view
from deconflict.service.auth import Action, Principal
from deconflict.service.hotline import Hotline
from deconflict.store.events import Event

#: Streams one credential may hold open at once (a console, a few tabs).
MAX_STREAMS_PER_CREDENTIAL = 8
#: Streams one party may hold open at once, over all its credentials.
MAX_STREAMS_PER_PARTY = 64
#: Events read from the store at once: a stream's memory is one page.
PAGE = 200
#: Events kept in memory for the streams that keep up (shared by all streams).
RECENT = 1024
#: Streams ended since the last collection that make the last one's end collect.
COLLECT_AFTER = 100
#: The longest a stream goes without looking at its credential.
RECHECK_S = 0.5
#: The audience of administrators' streams: every event.
ADMIN_KEY = "\x00admin"
#: Pages rendered for streams that keep up, kept for the party's other streams
#: at the same point (a thousand streams of a party each filtered and encoded
#: every event: 300 ms of a worker's event loop per event).
RENDERED = 256


def audience(h: Hotline, e: Event) -> frozenset[str] | None:
    """The parties an event may concern (a superset of those
    ``log_view.concerns`` shows it to), or None for every party. Only the
    streams of these parties are woken for it, so a type not named here, or a
    question this cannot answer from the event, is everyone's."""
    p = e.payload
    t = e.type
    try:
        if t == "notification.sent":
            return frozenset((str(p["party"]),))
        if t.startswith("notification."):
            return frozenset((h.inbox.get(p["id"]).party,))
        if t == "declaration.declared":
            share = p.get("share_with", "all")
            if not isinstance(share, list):
                return None  # "all", or a form this does not know: everyone
            return frozenset((str(p.get("owner")), *(str(x) for x in share)))
        if t == "activity.accepted":
            return frozenset((e.actor,))
        if t.startswith("alert."):
            return frozenset(str(k) for k in p.get("views", {}))
        if t.startswith("asset."):
            return frozenset((str(p.get("party")),))
    except Exception:
        return None
    return None


def _frames(items: list[tuple[int, str, dict[str, Any]]]) -> bytes:
    """Server-Sent Events, one per item, in one chunk."""
    return b"".join(f"id: {seq}\nevent: {etype}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
                    for seq, etype, data in items)


def _trim() -> None:
    """Give the allocator's free memory back to the system (glibc only): a
    thousand streams' buffers, freed, otherwise kept the RSS up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class TooManyStreams(DeconflictError):
    """HTTP 429: the credential or the party holds as many streams as it may."""

    def __init__(self, what: str, limit: int) -> None:
        self.what = what
        self.limit = limit
        super().__init__(f"{what} already holds {limit} open streams; close one first")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else default


@dataclass
class StreamLimits:
    """The limits; an operator may raise them with DECONFLICT_STREAMS_PER_CREDENTIAL
    and DECONFLICT_STREAMS_PER_PARTY (docs/threat-model.md)."""

    per_credential: int = field(default_factory=lambda: _env_int("DECONFLICT_STREAMS_PER_CREDENTIAL",
                                                                 MAX_STREAMS_PER_CREDENTIAL))
    per_party: int = field(default_factory=lambda: _env_int("DECONFLICT_STREAMS_PER_PARTY", MAX_STREAMS_PER_PARTY))


class Streams:
    """The open streams of one server process, and their wake-up."""

    def __init__(self, hotline: Hotline, limits: StreamLimits | None = None) -> None:
        self.hotline = hotline
        self.limits = limits or StreamLimits()
        self._lock = threading.Lock()
        self._by_credential: dict[str, int] = {}
        self._by_party: dict[str, int] = {}
        # Per event loop, one event per audience: a party's streams, or ADMIN's.
        self._events: dict[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = {}
        # Who the events since the last wake-up concern (None: everyone).
        self._pending: set[str] | None = set()
        # The events after _floor, up to _upto, classified by audience: the last
        # seq concerning each party (and everyone), so that a stream whose party
        # none of them concerns moves past them without reading them.
        self._floor: int | None = None
        self._upto = 0
        self._relevant: dict[str, int] = {}
        self._everyone = 0
        # The latest events, contiguous by seq, as the hotline saw them: streams
        # that keep up read them here, on the loop, without a thread or the store.
        self._recent: list[Event] = []
        # Who holds the open streams, for the one watcher per event loop that
        # ends them when a credential expires (not a timer per stream).
        self._holders: dict[int, Principal] = {}
        # Each open stream's audience and when its next keep-alive is due: the
        # watcher wakes an audience whose stream is due. A timeout around each
        # wait was a timer scheduled and cancelled per stream per event: with
        # 1,000 streams, a quarter of the worker's time went to asyncio's timers.
        self._due: dict[int, tuple[str, float]] = {}
        self._watchers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._ended = 0
        self._keys = itertools.count()
        # (audience, after, last seq of the page) -> (frames, last, full, notification.sent seqs)
        self._rendered: dict[tuple[str, int, int], tuple[bytes, int, bool, list[int]]] = {}
        hotline.listeners.append(self.notify)
        hotline.service.followers.append(self._remember)

    def _remember(self, e: Event) -> None:
        concerned = audience(self.hotline, e)
        with self._lock:
            recent = self._recent
            if recent and e.seq != recent[-1].seq + 1:
                recent.clear()  # not contiguous (cannot happen in log order): start again
            recent.append(e)
            if len(recent) > 2 * RECENT:
                del recent[:-RECENT]
            if self._floor is None or e.seq != self._upto + 1:
                self._floor, self._relevant, self._everyone = e.seq - 1, {}, e.seq - 1
            if concerned is None:
                self._everyone = e.seq
                self._pending = None
            else:
                for party in concerned:
                    self._relevant[party] = e.seq
                if self._pending is not None:
                    self._pending |= concerned
            self._upto = e.seq

    def _past_unconcerned(self, party: str, last: int) -> int | None:
        """The seq a stream of ``party`` at ``last`` may move to without reading:
        none of the events in between concerns the party. None: it must read."""
        with self._lock:
            floor = self._floor
            if floor is None or last < floor or self._upto <= last:
                return None
            if max(self._relevant.get(party, floor), self._everyone) > last:
                return None
            return self._upto

    def _from_recent(self, after: int) -> list[Event] | None:
        """Up to PAGE events after ``after`` if the recent ones cover it, else None."""
        with self._lock:
            recent = self._recent
            if not recent or after < recent[0].seq - 1:
                return None
            start = after + 1 - recent[0].seq
            return recent[start:start + PAGE]

    def _render_recent(self, who: Principal, audience_key: str, last: int,
                       recent: list[Event]) -> tuple[bytes, int, bool, list[int]]:
        """The frames of ``recent`` (the page after ``last``) for ``who``'s
        audience, rendered once for all its streams at that point: what a
        party may see of an event depends on the party alone (log_view.page)."""
        key = (audience_key, last, recent[-1].seq if recent else last)
        with self._lock:
            hit = self._rendered.get(key)
        if hit is not None:
            return hit
        items, new_last, full = log_view.page(self.hotline, who, last, PAGE, recent)
        sent = [seq for seq, etype, _d in items if etype == "notification.sent"]
        out = (_frames(items) if items else b"", new_last, full, sent)
        with self._lock:
            if len(self._rendered) >= RENDERED:
                self._rendered.clear()
            self._rendered[key] = out
        return out

    @property
    def open_count(self) -> int:
        with self._lock:
            return sum(self._by_credential.values())

    # -- admission ---------------------------------------------------------------
    def admit(self, who: Principal) -> None:
        """Count a new stream of ``who``, or raise TooManyStreams (nothing counted)."""
        who.require(Action.READ)
        party = who.party or "admin"
        with self._lock:
            if self._by_credential.get(who.credential_id, 0) >= self.limits.per_credential:
                raise TooManyStreams("this credential", self.limits.per_credential)
            if self._by_party.get(party, 0) >= self.limits.per_party:
                raise TooManyStreams(f"party {party}", self.limits.per_party)
            self._by_credential[who.credential_id] = self._by_credential.get(who.credential_id, 0) + 1
            self._by_party[party] = self._by_party.get(party, 0) + 1

    def release(self, who: Principal) -> None:
        party = who.party or "admin"
        with self._lock:
            for table, key in ((self._by_credential, who.credential_id), (self._by_party, party)):
                left = table.get(key, 0) - 1
                if left > 0:
                    table[key] = left
                else:
                    table.pop(key, None)

    # -- wake-up -------------------------------------------------------------------
    def notify(self) -> None:
        """The log grew (or streams must close): wake the streams of the parties
        the new events concern (all of them when that is not known). Any thread."""
        with self._lock:
            pending, self._pending = self._pending, set()
        keys = None if not pending else frozenset(pending)  # nothing classified: wake everyone
        for loop in list(self._events):
            try:
                loop.call_soon_threadsafe(self._wake, loop, keys)
            except RuntimeError:  # that loop is closed
                self._events.pop(loop, None)

    def _wake(self, loop: asyncio.AbstractEventLoop, keys: frozenset[str] | None = None) -> None:
        """Wake the streams waiting on ``loop`` for ``keys`` (and every
        administrator's, who sees every event); None: every stream."""
        events = self._events.get(loop)
        if events is None:
            return
        if keys is None:
            woken = list(events.values())
            events.clear()
        else:
            woken = [ev for k in (*keys, ADMIN_KEY) if (ev := events.pop(k, None)) is not None]
        for ev in woken:
            ev.set()

    def _current(self, key: str) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        events = self._events.setdefault(loop, {})
        event = events.get(key)
        if event is None:
            event = events[key] = asyncio.Event()
        return event

    def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._watchers.get(loop)
        if task is None or task.done():
            self._watchers[loop] = loop.create_task(self._watcher())

    async def _watcher(self) -> None:
        """Every RECHECK_S while streams are open: if a holder's credential has
        expired or been revoked, wake the streams (each ends if it is its own);
        else wake the audiences with a stream whose keep-alive is due."""
        loop = asyncio.get_running_loop()
        while self._holders:
            await asyncio.sleep(RECHECK_S)
            if any(not log_view.credential_in_force(self.hotline, who) for who in list(self._holders.values())):
                self._wake(loop)
                continue
            now = loop.time()
            due = frozenset(audience for audience, at in list(self._due.values()) if at <= now)
            if due:
                self._wake(loop, due)

    # -- one stream ------------------------------------------------------------------
    async def frames(self, who: Principal, after: int, wait: float) -> AsyncIterator[bytes]:
        """Server-Sent Events for ``who`` after ``after``, live, until the server
        closes or the credential is revoked or expires. Admitted by the caller
        (:meth:`admit`); released here however the stream ends."""
        hotline = self.hotline
        key = next(self._keys)
        audience_key = ADMIN_KEY if who.is_admin else who.party
        loop = asyncio.get_running_loop()
        self._holders[key] = who
        self._due[key] = (audience_key, loop.time() + wait)
        self._watch()
        try:
            yield b"retry: 2000\n\n"
            last = after
            items: list[tuple[int, str, dict[str, Any]]]
            while not hotline.closing and log_view.credential_in_force(hotline, who):
                # Taken before the read: an append after the read sets it.
                changed = self._current(audience_key)
                if last >= hotline.head:
                    # Nothing this process knows of is past the stream's point
                    # (its own appends and the others' it folded in): no read.
                    items, full = [], False
                elif not who.is_admin and (past := self._past_unconcerned(who.party, last)) is not None:
                    # Nothing in between concerns the party: no read (1,000
                    # streams of a party were each filtering every event).
                    items, last, full = [], past, False
                elif (recent := self._from_recent(last)) is not None:
                    chunk, new_last, full, sent = self._render_recent(who, audience_key, last, recent)
                    if sent:
                        await asyncio.to_thread(log_view.mark_delivered, hotline, who, sent, recent)
                    last = new_last
                    if chunk:
                        yield chunk
                    items = []
                else:
                    items, last, full = await asyncio.to_thread(log_view.page, hotline, who, last, PAGE)
                if items:
                    yield _frames(items)
                if full:
                    continue
                # Woken by what may concern the party, a credential's end, or the
                # watcher when this stream's keep-alive is due (within RECHECK_S).
                await changed.wait()
                now = loop.time()
                if now >= self._due[key][1]:
                    yield b": keep-alive\n\n"
                    self._due[key] = (audience_key, now + wait)
        finally:
            self._holders.pop(key, None)
            self._due.pop(key, None)
            self.release(who)
            self._ended += 1
            if not self._holders and self._ended >= COLLECT_AFTER:
                # Streams end by cancellation (the client went away): each leaves
                # a cycle (the exception, its frames) that only a full collection
                # frees; after a wave of them, collect now rather than whenever
                # the collector's thresholds next say so (RSS stayed 22 % up).
                self._ended = 0
                gc.collect()
                _trim()
