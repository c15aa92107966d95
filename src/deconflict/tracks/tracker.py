"""The tracker: assets, their history, the judging of reports, and the alerts' lifecycle.

Reports come in batches (from the feeds' fair scheduler or the HTTP batch
route). Each batch is judged in full (every report, in order, per asset), the
proximity screen runs on the latest states, and alert transitions are written
to the log in one append: ``alert.raised`` with a ``notification.sent`` per
party concerned (the inbox; answered like any notification), ``alert.updated``
when a predicted time or miss distance moves a lot, ``alert.cleared`` when the
condition ends. TAK clients are told through the listeners (``b-a-g`` and
``b-a-o-can``).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from deconflict.engine.parts import Part, declaration_parts
from deconflict.errors import DeconflictError, InvalidInput, NotFound
from deconflict.geo.ellipsoid import GEOD
from deconflict.model import Declaration, Flight, Measure, Movement, ShareWith
from deconflict.service import namespace
from deconflict.service.auth import Forbidden
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.store.events import Event, EventDraft
from deconflict.tracks import alerts as al
from deconflict.tracks.conformance import Fences, Hit, Judge
from deconflict.tracks.history import MAX_POINTS, History
from deconflict.tracks.history import Point as HistoryPoint
from deconflict.tracks.proximity import DEFAULT_HORIZONTAL_M, DEFAULT_VERTICAL_M, Approach, approaches
from deconflict.tracks.report import UNAFFILIATED, Report

#: A predicted alert is updated (in the log) when its time to go changes by more than this fraction ...
UPDATE_FRACTION = 0.25
#: ... and at most this often.
UPDATE_EVERY_S = 10.0
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Settings:
    lookahead_s: float = 600.0  # conformance: how far ahead a path is judged
    cpa_lookahead_s: float = 120.0
    horizontal_m: float = DEFAULT_HORIZONTAL_M
    vertical_m: float = DEFAULT_VERTICAL_M
    history_s: float = 6 * 3600.0  # track history retention
    history_every_s: float = 1.0  # at most one history point per asset this often
    trail_s: float = 900.0  # kept in memory per asset when the history is on file (the map's trails)
    repeat_s: float = 10.0  # b-a-g repeated this often until acknowledged or cancelled
    stale_s: float = 300.0  # an asset silent this long leaves the proximity picture
    # Assets held in memory, overall and per party (unaffiliated aircraft are one party
    # here): a feed inventing uids evicts the longest-silent evictable asset, then is refused.
    max_assets: int = 100_000
    max_assets_per_party: int = 20_000

    def check(self) -> None:
        for name in ("lookahead_s", "cpa_lookahead_s", "horizontal_m", "vertical_m", "history_s", "repeat_s",
                     "stale_s", "history_every_s", "trail_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InvalidInput(name, f"must be a finite number > 0, got {v!r}")
        if self.lookahead_s > 3600 or self.cpa_lookahead_s > 3600:
            raise InvalidInput("lookahead_s", "at most an hour")
        for name in ("max_assets", "max_assets_per_party"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InvalidInput(name, f"must be a whole number >= 1, got {v!r}")


@dataclass(slots=True)
class Asset:
    uid: str
    party: str
    air: bool
    link: str = ""
    share: ShareWith | None = None  # from the linked declaration; None: shared with all
    last: Report | None = None
    vz: float = 0.0
    history: deque[tuple[datetime, float, float, float]] = field(default_factory=deque)
    conditions: dict[str, str] = field(default_factory=dict)  # condition key -> alert id

    def visible_to(self) -> frozenset[str] | None:
        if self.share is None or self.share.everyone:
            return None
        return self.share.parties


@dataclass
class Stats:
    reports: int = 0
    judged: int = 0
    refused: int = 0
    uid_taken: int = 0
    alerts_raised: int = 0
    alerts_cleared: int = 0
    alerts_updated: int = 0
    assets_evicted: int = 0  # the longest-silent asset, forgotten to make room for a new uid
    assets_refused: int = 0  # a report of a new uid dropped: no room and nothing evictable
    history_lost: int = 0  # history points not written (the history's store failed)

    def to_json(self) -> dict[str, int]:
        return dict(vars(self))


CotListener = Callable[[str, al.Alert, str], None]  # (party, alert, "raise" | "cancel")


class Tracker:
    def __init__(self, hotline: Hotline, settings: Settings | None = None, *, clock: Clock = _now,
                 history: History | None = None) -> None:
        self.hotline = hotline
        self.history_file = history
        self._hist_pending: list[HistoryPoint] = []
        self._latest = datetime.min.replace(tzinfo=UTC)
        self.settings = settings or Settings()
        self.settings.check()
        self.clock = clock
        self.assets: dict[str, Asset] = {}
        self.alerts: dict[str, al.Alert] = {}  # id -> alert (active ones)
        self.by_note: dict[str, tuple[str, str]] = {}  # notification id -> (alert id, party)
        self.stats = Stats()
        self.listeners: list[CotListener] = []
        self._lock = threading.RLock()  # one batch at a time
        self._dirty = True
        self._fences: Fences | None = None
        self._judge: Judge | None = None
        self._objects: dict[str, Measure | Declaration] = {}
        self._links: dict[str, list[Part]] = {}
        self._pending_acks: deque[str] = deque()
        self._pending_links: deque[dict[str, Any]] = deque()
        # Recency of assets, the longest-silent first (overall, and per party), for eviction;
        # an order found with nothing evictable is not scanned again until something changes.
        self._order: OrderedDict[str, None] = OrderedDict()
        self._party_order: dict[str, OrderedDict[str, None]] = {}
        self._exhausted: set[str | None] = set()
        self._in_batch: set[str] = set()
        hotline.service.followers.append(self._absorb)
        for e in hotline.service.store.events():
            if e.type == "asset.linked":
                self._link_event(e.payload)

    # -- what the log says ---------------------------------------------------------------
    def _absorb(self, e: Event) -> None:
        """Told of every event, on the writer's thread under the hotline's lock: cheap only."""
        t = e.type
        if t.startswith(("measure.", "declaration.", "agreement.in_force", "party.")):
            self._dirty = True
        elif t == "notification.acknowledged":
            self._pending_acks.append(e.payload.get("id", ""))
        elif t == "asset.linked":
            # Applied under the tracker's lock (the assets and their orders are not
            # this thread's to change in the middle of a batch).
            self._pending_links.append(e.payload)
            self._dirty = True

    def _link_event(self, p: dict[str, Any]) -> None:
        uid, party = p.get("uid", ""), p.get("party", "")
        a = self.assets.get(uid)
        if a is None:
            # Links are events in the log (a party's deliberate act): held whatever the bound.
            a = self._hold(Asset(uid, party, bool(p.get("air", False))))
        a.link = p.get("declaration") or ""
        self._exhausted.clear()  # an unlinked asset may have become evictable

    def _apply_links(self) -> None:
        while self._pending_links:
            self._link_event(self._pending_links.popleft())

    def _refresh(self) -> None:
        self._apply_links()
        if not self._dirty and self._judge is not None:
            return
        self._dirty = False

        def copy(s: Deconflict) -> tuple[list[Measure], list[Declaration]]:
            return s.measures(), list(s.engine.declarations())

        measures, decls = self.hotline.read_service(copy)
        fences = Fences(measures, decls)
        old = self._judge
        self._judge = Judge(fences, self.settings.lookahead_s)
        if old is not None:
            self._judge.exact_checks, self._judge.cache_hits = old.exact_checks, old.cache_hits
        self._fences = fences
        self._objects = {**{f"measure:{m.id}": m for m in measures},
                         **{f"declaration:{d.id}": d for d in decls}}
        self._links = {}
        for a in self.assets.values():
            a.share = None
            if a.link:
                d = self._objects.get(f"declaration:{a.link}")
                if isinstance(d, (Movement, Flight)) and d.owner == a.party:
                    self._links[a.uid] = declaration_parts(d)
                    a.share = d.share_with
                else:
                    # The declaration is gone (withdrawn): every report is outside it.
                    self._links[a.uid] = []

    # -- assets --------------------------------------------------------------------------
    def link(self, party: str, uid: str, declaration: str, *, air: bool = False, actor: str = "") -> dict[str, Any]:
        """Link a party's asset to one of its movements or flights (an event in the log)."""
        if not party:
            raise Forbidden("an administrator has no assets")
        with self._lock:
            self._apply_links()
            a = self.assets.get(uid)
            if a is not None and a.party != party:
                raise NotFound("asset", uid)  # another party's: its existence is not shared
            if declaration:
                def get(s: Deconflict) -> Declaration | None:
                    def own(i: str) -> bool:
                        return s.engine.has_declaration(i) and s.engine.get_declaration(i).owner == party
                    try:  # the party's own, by the id it chose (service/namespace.py)
                        return s.engine.get_declaration(namespace.resolve(party, declaration, own))
                    except NotFound:
                        return None
                d = self.hotline.read_service(get)
                if not isinstance(d, (Movement, Flight)) or d.owner != party:
                    raise InvalidInput("declaration", f"{declaration!r} is not a movement or flight of {party}")
                air = isinstance(d, Flight)
                declaration = d.id
            self.hotline.record([EventDraft("asset.linked", actor or party, uid, {
                "uid": uid, "party": party, "declaration": declaration or None, "air": air})])
            return {"uid": uid, "party": party, "declaration": declaration or None, "air": air}

    def claim(self, r: Report) -> Asset | None:
        """The asset of a report; None when the uid is another party's, or when it is
        new and there is no room for it (nothing evictable: counted, dropped)."""
        a = self.assets.get(r.uid)
        if a is None:
            if not self._make_room(r.party):
                self.stats.assets_refused += 1
                return None
            a = self._hold(Asset(r.uid, r.party, r.air))
        elif a.party != r.party:
            self.stats.uid_taken += 1
            return None
        else:
            # Heard now: the end of both orders.
            self._order.move_to_end(a.uid)
            self._party_order[a.party].move_to_end(a.uid)
        self._in_batch.add(a.uid)
        return a

    def _hold(self, a: Asset) -> Asset:
        self.assets[a.uid] = a
        self._order[a.uid] = None
        self._party_order.setdefault(a.party, OrderedDict())[a.uid] = None
        return a

    def _make_room(self, party: str) -> bool:
        s = self.settings
        mine = self._party_order.get(party)
        if mine is not None and len(mine) >= s.max_assets_per_party and not self._evict(mine, party):
            return False
        return len(self.assets) < s.max_assets or self._evict(self._order, None)

    def _evictable(self, a: Asset) -> bool:
        # Not with an active alert (its clearing must be told), not linked (the link is
        # replayed from the log only at start), not reported in this batch (being judged).
        return not a.conditions and not a.link and a.uid not in self._in_batch

    def _evict(self, order: OrderedDict[str, None], key: str | None) -> bool:
        """Forget the longest-silent evictable asset of ``order``. One that cannot be
        evicted is passed over to the end of the order (as if heard), so a scan costs
        the entries it passes; a scan that finds nothing is not repeated until an alert
        clears, a link changes or the batch ends."""
        if key in self._exhausted:
            return False
        for _ in range(len(order)):
            uid = next(iter(order))
            a = self.assets[uid]
            if self._evictable(a):
                self._forget(a)
                self.stats.assets_evicted += 1
                return True
            order.move_to_end(uid)
        self._exhausted.add(key)
        return False

    def _forget(self, a: Asset) -> None:
        del self.assets[a.uid]
        self._order.pop(a.uid, None)
        mine = self._party_order.get(a.party)
        if mine is not None:
            mine.pop(a.uid, None)
            if not mine:
                del self._party_order[a.party]
        self._links.pop(a.uid, None)
        if self._judge is not None:
            self._judge.forget(a.uid)

    # -- judging -------------------------------------------------------------------------
    def process(self, reports: Sequence[Report]) -> list[Event]:
        """Judge a batch of reports and write the alerts' transitions; returns the events."""
        with self._lock:
            try:
                return self._process(reports)
            finally:
                self._in_batch.clear()
                self._exhausted.clear()

    def _process(self, reports: Sequence[Report]) -> list[Event]:
        self._refresh()
        assert self._judge is not None
        now = self.clock()
        self.stats.reports += len(reports)
        good: list[Report] = []
        for r in reports:
            try:
                r.check()
            except InvalidInput:
                self.stats.refused += 1
                continue
            if self.claim(r) is not None:
                good.append(r)
        hits = self._judge.judge(good, self._links)
        self.stats.judged += len(good)
        by_report: dict[int, list[Hit]] = {}
        for h in hits:
            by_report.setdefault(h.report, []).append(h)
        drafts: list[EventDraft] = []
        out: list[tuple[str, al.Alert, str]] = []
        self._derive_motion(good)
        for i, r in enumerate(good):
            a = self.assets[r.uid]
            self._move(a, r)
            conds = {self._cond_key(h): h for h in by_report.get(i, [])}
            self._transition(a, r, conds, now, drafts, out)
        if self.history_file is not None and self._hist_pending:
            try:
                self.history_file.add(self._hist_pending)
                self.history_file.prune(self._latest - timedelta(seconds=self.settings.history_s))
            except DeconflictError:
                # The history's store failing must not cost the batch its alerts: the
                # points are lost (counted), the judging goes on.
                self.stats.history_lost += len(self._hist_pending)
            self._hist_pending.clear()
        self._proximity(now, drafts, out)
        self._acks()
        events = self.hotline.record(drafts) if drafts else []
        for party, alert, what in out:
            for tell in self.listeners:
                tell(party, alert, what)
        return events

    def _derive_motion(self, reports: Sequence[Report]) -> None:
        """Reports without course and speed get them from the asset's last two fixes
        (within two minutes): one inverse geodesic problem over arrays for the batch.
        Each report's previous fix is the one ``_move`` will have made the asset's
        latest by then (older reports, reordered, are skipped as it skips them)."""
        last: dict[str, Report] = {}
        todo: list[tuple[Report, Report, float]] = []
        for r in reports:
            prev = last.get(r.uid)
            if prev is None:
                prev = self.assets[r.uid].last
            if prev is not None and r.t < prev.t:
                continue
            if not r.moving and prev is not None:
                dt = (r.t - prev.t).total_seconds()
                if 0 < dt <= 120:
                    todo.append((r, prev, dt))
            last[r.uid] = r
        if not todo:
            return
        az, _b, d = GEOD.inv(np.array([p.lon for _r, p, _dt in todo]), np.array([p.lat for _r, p, _dt in todo]),
                             np.array([r.lon for r, _p, _dt in todo]), np.array([r.lat for r, _p, _dt in todo]))
        for (r, _p, dt), a_, d_ in zip(todo, np.asarray(az).tolist(), np.asarray(d).tolist(), strict=True):
            if d_ > 0:
                r.course, r.speed = a_ % 360.0, min(d_ / dt, 1_200.0)

    def _move(self, a: Asset, r: Report) -> None:
        prev = a.last
        if prev is not None and r.t < prev.t:
            return  # an older report (UDP reordering): judged, not the latest
        if prev is not None and r.air and math.isfinite(prev.alt_m):
            dt = (r.t - prev.t).total_seconds()
            a.vz = (r.alt_m - prev.alt_m) / dt if dt > 0 else a.vz
        a.last = r
        h = a.history
        if not h or (r.t - h[-1][0]).total_seconds() >= self.settings.history_every_s:
            h.append((r.t, r.lon, r.lat, r.alt_m))
            if self.history_file is not None:
                self._hist_pending.append(HistoryPoint(a.uid, a.party, r.t, r.lon, r.lat, r.alt_m))
        self._latest = max(self._latest, r.t)
        keep = self.settings.history_s
        if self.history_file is not None:
            keep = min(keep, self.settings.trail_s)  # the rest is on file
        limit = r.t - timedelta(seconds=keep)
        while h and h[0][0] < limit:
            h.popleft()

    @staticmethod
    def _cond_key(h: Hit) -> str:
        return f"{h.rule}|{h.object_type}:{h.object_id}" + ("|predicted" if h.in_s is not None else "")

    def _subject(self, a: Asset, r: Report) -> al.Subject:
        return al.Subject(a.uid, a.party, r.lon, r.lat, r.alt_m, r.t, a.visible_to())

    def _thing(self, h: Hit) -> al.Thing:
        obj = self._objects.get(f"{h.object_type}:{h.object_id}")
        label = getattr(obj, "label", "") if obj is not None else ""
        vis: frozenset[str] | None = None
        share = getattr(obj, "share_with", None)
        if isinstance(share, ShareWith) and not share.everyone:
            vis = share.parties
        return al.Thing(h.object_id, h.object_type, h.object_kind, h.owner, label, h.lon, h.lat, vis)

    def _transition(self, a: Asset, r: Report, conds: dict[str, Hit], now: datetime, drafts: list[EventDraft],
                    out: list[tuple[str, al.Alert, str]]) -> None:
        for key in list(a.conditions):
            if key.startswith("prox|"):
                continue
            if key not in conds:
                alert = self.alerts.pop(a.conditions.pop(key), None)
                if alert is not None:
                    alert.subject = self._subject(a, r)
                    self._clear(alert, now, drafts, out)
        for key, h in conds.items():
            aid = a.conditions.get(key)
            if aid is None:
                alert = al.Alert(secrets.token_hex(6), key, h.rule, h.kind.value, h.summary, self._subject(a, r),
                                 thing=self._thing(h), in_s=h.in_s)
                a.conditions[key] = alert.id
                self._raise(alert, now, drafts, out)
            else:
                alert = self.alerts[aid]
                alert.subject = self._subject(a, r)
                self._maybe_update(alert, h.in_s, None, now, drafts)

    def _raise(self, alert: al.Alert, now: datetime, drafts: list[EventDraft],
               out: list[tuple[str, al.Alert, str]]) -> None:
        alert.raised_at = alert.updated_at = now
        self.alerts[alert.id] = alert
        views = alert.views("raised")
        drafts.append(EventDraft(al.RAISED, "tracks", alert.id, {"id": alert.id, "rule": alert.rule,
                                                                 "parties": alert.parties(), "views": views}))
        for party, view in views.items():
            n = Notification(secrets.token_hex(8), party, NotificationKind.TRACK_ALERT, alert.id,
                             alert.subject.party or "tracks", view["text"], view, now,
                             now + self.hotline.ack_deadline)
            alert.notes[party] = n.id
            self.by_note[n.id] = (alert.id, party)
            drafts.append(EventDraft("notification.sent", "tracks", n.id, n.payload()))
            out.append((party, alert, "raise"))
        self.stats.alerts_raised += 1

    def _clear(self, alert: al.Alert, now: datetime, drafts: list[EventDraft],
               out: list[tuple[str, al.Alert, str]]) -> None:
        alert.cleared = True
        self._exhausted.clear()
        drafts.append(EventDraft(al.CLEARED, "tracks", alert.id, {"id": alert.id, "rule": alert.rule,
                                                                  "parties": alert.parties(),
                                                                  "views": alert.views("cleared")}))
        for party in alert.parties():
            out.append((party, alert, "cancel"))
        self.stats.alerts_cleared += 1

    def _maybe_update(self, alert: al.Alert, in_s: float | None, miss: float | None, now: datetime,
                      drafts: list[EventDraft]) -> None:
        old = alert.in_s
        alert.in_s, alert.miss_m = in_s, miss
        if alert.updated_at is not None and (now - alert.updated_at).total_seconds() < UPDATE_EVERY_S:
            return
        if old is None or in_s is None or abs(in_s - old) <= UPDATE_FRACTION * max(old, 1.0):
            return
        alert.updated_at = now
        drafts.append(EventDraft(al.UPDATED, "tracks", alert.id, {"id": alert.id, "rule": alert.rule,
                                                                  "parties": alert.parties(),
                                                                  "views": alert.views("updated")}))
        self.stats.alerts_updated += 1

    # -- proximity ---------------------------------------------------------------------
    def _proximity(self, now: datetime, drafts: list[EventDraft], out: list[tuple[str, al.Alert, str]]) -> None:
        s = self.settings
        live = [a for a in self.assets.values() if a.last is not None]
        if live:
            newest = max(a.last.t for a in live if a.last is not None)
            live = [a for a in live if a.last is not None and (newest - a.last.t).total_seconds() <= s.stale_s]
        found: dict[str, tuple[Asset, Asset, Approach]] = {}
        if len(live) >= 2:
            rs = [a.last for a in live]
            assert all(r is not None for r in rs)
            lon = np.array([r.lon for r in rs if r], dtype=np.float64)
            lat = np.array([r.lat for r in rs if r], dtype=np.float64)
            alt = np.array([r.alt_m if r and r.air else math.nan for r in rs], dtype=np.float64)
            spd = np.array([r.speed if r and r.moving else 0.0 for r in rs], dtype=np.float64)
            crs = np.array([r.course if r and r.moving else 0.0 for r in rs], dtype=np.float64)
            vz = np.array([a.vz for a in live], dtype=np.float64)
            names = sorted({a.party for a in live})
            pid = {p: k for k, p in enumerate(names)}
            party = np.array([pid[a.party] if a.party != UNAFFILIATED else -1 for a in live], dtype=np.int64)
            for ap in approaches(lon, lat, alt, spd, crs, vz, party, horizontal_m=s.horizontal_m,
                                 vertical_m=s.vertical_m, lookahead_s=s.cpa_lookahead_s):
                x, y = live[ap.a], live[ap.b]
                if x.uid > y.uid:
                    x, y = y, x
                found[f"prox|{x.uid}|{y.uid}"] = (x, y, ap)
        # Clear what no longer holds.
        for a in live:
            for key in [k for k in a.conditions if k.startswith("prox|")]:
                if key not in found:
                    aid = a.conditions.pop(key)
                    alert = self.alerts.pop(aid, None)
                    if alert is not None:
                        self._clear(alert, now, drafts, out)
                    for other in key.split("|")[1:]:
                        o = self.assets.get(other)
                        if o is not None:
                            o.conditions.pop(key, None)
        for key, (x, y, ap) in found.items():
            rx, ry = x.last, y.last
            assert rx is not None and ry is not None
            current = x.conditions.get(key)
            in_s = ap.t_cpa_s if not ap.now else None
            if current is None or current not in self.alerts:
                rule = "track-proximity" if ap.now else "track-predicted-approach"
                text = ("closer than the separation distances" if ap.now else
                        "predicted to come closer than the separation distances")
                alert = al.Alert(secrets.token_hex(6), key, rule, "conflict", text, self._subject(x, rx),
                                 other=self._subject(y, ry), in_s=in_s, miss_m=ap.miss_m)
                x.conditions[key] = y.conditions[key] = alert.id
                self._raise(alert, now, drafts, out)
            else:
                alert = self.alerts[current]
                alert.subject, alert.other = self._subject(x, rx), self._subject(y, ry)
                self._maybe_update(alert, in_s, ap.miss_m, now, drafts)

    def _acks(self) -> None:
        while self._pending_acks:
            nid = self._pending_acks.popleft()
            got = self.by_note.get(nid)
            if got is None:
                continue
            alert = self.alerts.get(got[0])
            if alert is not None:
                alert.acked.add(got[1])

    # -- what TAK clients are owed -------------------------------------------------------
    def due(self, party: str, monotonic: float) -> list[al.Alert]:
        """Alerts to send (again) to ``party``'s TAK clients: unacknowledged, every ``repeat_s``."""
        with self._lock:
            self._acks()
            out = []
            for alert in self.alerts.values():
                if alert.cleared or party in alert.acked or party not in alert.parties():
                    continue
                last = alert.sent.get(party)
                if last is None or monotonic - last >= self.settings.repeat_s:
                    alert.sent[party] = monotonic
                    out.append(alert)
            return out

    # -- reads -------------------------------------------------------------------------
    def visible_asset(self, a: Asset, party: str | None) -> bool:
        if party is None:
            return True
        vis = a.visible_to()
        return a.party in (party, UNAFFILIATED) or vis is None or party in vis

    def tracks(self, party: str | None) -> list[dict[str, Any]]:
        """The latest position of every asset ``party`` may see (None: an administrator)."""
        with self._lock:
            self._apply_links()
            out = []
            for a in self.assets.values():
                r = a.last
                if r is None or not self.visible_asset(a, party):
                    continue
                out.append({"uid": a.uid, "party": a.party or None, "type": r.cot_type or None, "air": a.air,
                            "lon": r.lon, "lat": r.lat, "alt_m": None if math.isnan(r.alt_m) else r.alt_m,
                            "course": None if math.isnan(r.course) else r.course,
                            "speed": None if math.isnan(r.speed) else r.speed,
                            "time": r.t.isoformat().replace("+00:00", "Z"), "declaration": a.link or None})
            return out

    def _visible_uid(self, uid: str, party: str | None, on_file: dict[str, str] | None) -> bool:
        a = self.assets.get(uid)
        if a is not None:
            return self.visible_asset(a, party)
        # An asset only on file (reported before a restart, not since) is not linked
        # (links are replayed from the log, so a linked asset is held): as any
        # unlinked asset, everyone may see it.
        return on_file is not None and uid in on_file

    def history(self, party: str | None, uid: str, since: datetime | None = None,
                until: datetime | None = None) -> list[dict[str, Any]]:
        """One track's points within [since, until] (default: the whole retention)."""
        tracks: dict[str, list[dict[str, Any]]] = self.histories(party, since, until, [uid],
                                                                 missing_is_error=True)["tracks"]
        return tracks.get(uid, [])

    def histories(self, party: str | None, since: datetime | None, until: datetime | None,
                  uids: list[str] | None = None, *, missing_is_error: bool = False) -> dict[str, Any]:
        """Who was where: the points of every track ``party`` may see (None: an
        administrator) within [since, until], per uid, at most MAX_POINTS in all."""
        lo = since or datetime.min.replace(tzinfo=UTC)
        hi = until or datetime.max.replace(tzinfo=UTC)
        if lo > hi:
            raise InvalidInput("since", "must not be after until")
        with self._lock:
            self._refresh()  # the links' disclosure, as of now (after a restart: before any report)
            on_file = self.history_file.parties() if self.history_file is not None else None
            wanted = set(self.assets) | set(on_file or {}) if uids is None else set(uids)
            visible = sorted(u for u in wanted if self._visible_uid(u, party, on_file))
            if missing_is_error and not visible:
                raise NotFound("track", uids[0] if uids else "")
            out: dict[str, list[dict[str, Any]]] = {}
            n = 0
            if self.history_file is not None:
                for p in self.history_file.points(visible, lo, hi, MAX_POINTS + 1):
                    out.setdefault(p.uid, []).append(p.to_json())
                    n += 1
            else:
                for u in visible:
                    a = self.assets[u]
                    for t, lon, lat, z in a.history:
                        if lo <= t <= hi:
                            out.setdefault(u, []).append(HistoryPoint(u, a.party, t, lon, lat, z).to_json())
                            n += 1
            truncated = n > MAX_POINTS
            if truncated:
                # Drop the points past the limit (the last uid's tail).
                extra = n - MAX_POINTS
                for u in reversed(list(out)):
                    cut = min(extra, len(out[u]))
                    out[u] = out[u][: len(out[u]) - cut]
                    extra -= cut
                    if not out[u]:
                        del out[u]
                    if not extra:
                        break
            return {"tracks": out, "truncated": truncated}

    def active(self, party: str | None) -> list[dict[str, Any]]:
        """The active alerts concerning ``party`` (None: all), each saying whether the
        party acknowledged it (whoever's worker the acknowledgement reached: it is in the log)."""
        with self._lock:
            self._acks()
            return [{**x.view(party, "active"), "acknowledged": party in x.acked} if party else
                    {"alert": x.id, "rule": x.rule, "parties": x.parties(), "acknowledged": sorted(x.acked)}
                    for x in self.alerts.values() if party is None or party in x.parties()]

    def counters(self) -> dict[str, Any]:
        j = self._judge
        return {**self.stats.to_json(), "assets": len(self.assets), "max_assets": self.settings.max_assets,
                "max_assets_per_party": self.settings.max_assets_per_party, "active_alerts": len(self.alerts),
                "exact_checks": j.exact_checks if j else 0, "clearance_hits": j.cache_hits if j else 0}


class Evaluator:
    """The thread that takes batches from the fair scheduler and judges them."""

    def __init__(self, tracker: Tracker, source: Callable[[float], list[Report]]) -> None:
        self.tracker = tracker
        self.source = source
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracks-evaluator", daemon=True)
        self.errors = 0
        self.latencies: deque[float] = deque(maxlen=10_000)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self.source(0.2)
            if not batch:
                continue
            try:
                self.tracker.process(batch)
            except DeconflictError:
                self.errors += 1
            except Exception:  # a bug must not stop the judging of every other feed
                self.errors += 1
            self.latencies.append(time.monotonic())
