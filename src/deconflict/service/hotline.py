"""The multi-party service: the deconfliction hotline as software.

Every operation takes the caller's :class:`Principal` and enforces what its
role and party may do. A submit is decided holding the store's lock rows of
the cells it reaches (engine/cells.py; every other write holds them all),
after folding in what other processes appended, so acceptance is
serialisable: two mutually conflicting activities submitted at once, through
one process or several, are never both accepted (docs/store.md, "Acceptance
by cells").

Everything the hotline knows beyond the store's current state (credentials,
notifications, measure agreements, idempotency keys) is rebuilt from the
event log at start, so nothing acknowledged is lost in a crash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from deconflict.engine import cells
from deconflict.engine.listing import Filter, Listed
from deconflict.engine.parts import Part, declaration_parts
from deconflict.errors import AlreadyExists, DeconflictError, InvalidInput, NotFound, Unavailable
from deconflict.model import (
    CheckResult,
    Declaration,
    FindingKind,
    Measure,
    Party,
    PartyKind,
    ShareWith,
)
from deconflict.service import answers, escalation, listing, measure_life, namespace, optimistic, receipts, startup
from deconflict.service.auth import Action, Credential, Forbidden, Keyring, Principal, Role, issue
from deconflict.service.deconflict import ADMIN, Change, Deconflict
from deconflict.service.disclosure import hidden_owners, redact, visible
from deconflict.service.notifications import Answer, Inbox, Notification, NotificationKind
from deconflict.service.notify import (
    Deadlines,
    activity_head,
    activity_notices,
    is_presence,
    shared_with,
    targets_of,
    what,
)
from deconflict.service.probing import Budget, ProbeLedger
from deconflict.service.references import References, reference
from deconflict.service.settings import EVENT as SETTINGS_EVENT
from deconflict.service.settings import Settings
from deconflict.service.wire import encode_result
from deconflict.store.documents import decode_measure, encode_measure, format_time
from deconflict.store.events import Event, EventDraft

DEFAULT_ACK_DEADLINE = timedelta(minutes=15)
BLOCKING = frozenset({FindingKind.VIOLATION, FindingKind.CONFLICT})
NOTIFYING = frozenset({FindingKind.VIOLATION, FindingKind.CONFLICT, FindingKind.COORDINATION_REQUIRED})
MAX_OVERRIDE_REASON = 2000
#: Claims of a batch's cells tried before it is decided holding every row.
CLAIM_ATTEMPTS = 3

Clock = Callable[[], datetime]
#: An accepted submit's response and events, given the number its first event gets.
Render = Callable[[int], tuple[dict[str, Any], list[EventDraft]]]


def _now() -> datetime:
    return datetime.now(UTC)


class Refused(InvalidInput):
    """A submit refused for its findings (HTTP 409); carries the visible result."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("activity", f"refused: verdict {result['verdict']}; override with a reason to accept")
        self.result = result


class IdempotencyMismatch(AlreadyExists):
    def __init__(self, key: str) -> None:
        super().__init__("idempotency key", key)


@dataclass
class Proposal:
    """A measure version waiting for the parties it binds."""

    measure: Measure
    version: int
    proposer: str
    bound: frozenset[str]
    accepted: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"measure": encode_measure(self.measure), "version": self.version, "proposed_by": self.proposer,
                "bound": sorted(self.bound), "accepted_by": sorted(self.accepted),
                "waiting_for": sorted(self.bound - self.accepted)}


@dataclass(eq=False)
class Submission:
    who: Principal
    activity: Declaration
    override_reason: str
    idempotency_key: str
    request_sha256: str
    done: bool = False
    result: tuple[bool, dict[str, Any]] | None = None
    error: Exception | None = None
    depends_on_batch: bool = False  # a replay of a submit in the same, not yet durable, batch
    on_done: Callable[[Submission], None] | None = None  # called on the committing thread once decided
    parts: list[Part] | None = None  # the activity's footprint, built before the lock (Engine.prebuild)
    probe: list[EventDraft] = field(default_factory=list)  # a refusal touching hidden declarations
    pre: optimistic.Prechecked | None = None  # checked before the store's lock (service/optimistic.py)


class Hotline:
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

    def _checked(self, item: Submission, accepted: set[str]) -> CheckResult:
        """The submit's check against everything in force now (under the store's lock)."""
        changed = None if item.pre is None else self.journal.changed_since(item.pre.seq, self.service.seq)
        if item.pre is None or changed is None:
            self.checked_under_lock["full"] += 1
            return self.service.check(item.activity)
        self.checked_under_lock["delta"] += 1
        return optimistic.recheck(self.service.engine, item.activity, item.pre.result, changed | accepted)

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

    def _absorb(self, e: Event) -> None:
        """Fold one event into what the hotline remembers beyond the store's state."""
        if e.seq <= self.head:
            return  # seen in the replay at start
        p = e.payload
        self.head = e.seq
        if e.type == "credential.issued":
            self.keyring.add(Credential(
                p["id"], p["party"], p["member"], Role(p["role"]), p["secret_sha256"], e.recorded_at,
                None if p.get("expires_at") is None else datetime.fromisoformat(p["expires_at"]),
            ))
        elif e.type == "credential.revoked":
            self.keyring.revoke(p["id"], e.recorded_at)
        elif e.type == "notification.sent":
            self.inbox.sent(p, e.recorded_at, e.seq)
            self.refs.notification(p["id"], e.seq)
            self._notified.setdefault(p["subject"], set()).add(p["party"])
        elif e.type == "notification.delivered":
            self.inbox.delivered(p["id"], e.recorded_at)
        elif e.type in ("notification.acknowledged", "notification.objected"):
            answer = Answer.ACKNOWLEDGED if e.type.endswith("acknowledged") else Answer.OBJECTED
            self.inbox.answered(p["id"], answer, p.get("member", ""), p.get("comment", ""), e.recorded_at)
            answered = self.inbox.get(p["id"])
            closes = answered.detail.get("in_reply_to") if answered.kind is NotificationKind.ANSWER else None
            if isinstance(closes, str) and answered.needs_answer:
                self.inbox.resolve(closes, answer.value, e.recorded_at)  # the originator answered the objection
        elif e.type == "notification.escalated":
            self.inbox.escalated(p["id"], e.recorded_at)
        elif e.type == "notification.reminded":
            self.inbox.reminded(p["id"], e.recorded_at)
        elif e.type == SETTINGS_EVENT:
            self.settings.absorb(p, e.actor, e.recorded_at)
        elif e.type == "agreement.proposed":
            m = decode_measure(p["measure"], "measure")
            self.proposals[m.id] = Proposal(m, p["version"], e.actor, frozenset(p["bound"]))
            self.versions[m.id] = p["version"]
        elif e.type == "agreement.accepted":
            prop = self.proposals.get(p["id"])
            if prop is not None and prop.version == p["version"]:
                prop.accepted.add(p["party"])
        elif e.type == "declaration.withdrawn" and e.subject in self._sharing:
            self._withdrawn_sharing[e.seq] = self._sharing[e.subject]
            self.refs.withdrawn(e.subject)
            self._close_objections(e.subject, "withdrawn", e.recorded_at)
        elif e.type == "declaration.declared":
            self.refs.declared(e.subject, e.seq)
            share = p.get("share_with", "all")
            self._sharing[e.subject] = (p.get("owner", ""), share == "all", frozenset(share if share != "all" else ()))
        elif e.type == "agreement.in_force":
            self.versions[p["id"]] = p["version"]
            prop = self.proposals.get(p["id"])
            if prop is not None and prop.version <= p["version"]:
                del self.proposals[p["id"]]
        elif e.type == "measure.added":
            self.versions.setdefault(p["id"], 1)
        elif e.type == "probe.recorded":
            self.probes.recorded(p["prober"], list(p["owners"]), e.recorded_at)
        elif e.type == "probe.budget_set":
            self.probes.set_budget(p["party"], Budget.decode(p))
        elif e.type == "activity.accepted":
            self._close_objections(e.subject, "amended", e.recorded_at)
            self.accepted[e.subject] = {"verdict": p.get("verdict"), "override_reason": p.get("override_reason"),
                                        "overridden": bool(p.get("response", {}).get("overridden")),
                                        "by": p.get("member"), "at": format_time(e.recorded_at)}
            if p.get("idempotency_key"):
                self._idempotent[(e.actor, p["idempotency_key"])] = (p["request_sha256"], p["response"])
                self._accepted_seq[(e.actor, p["idempotency_key"])] = e.seq
        if e.type.startswith(("agreement.", "measure.")):
            measure_life.absorb(self, e)

    def _close_objections(self, subject: str, how: str, at: datetime) -> None:
        """An amendment or a withdrawal answers every open objection about it (and
        the originator's answers waiting on them)."""
        for n in self.inbox.about(subject):
            if n.objection_open() or (n.kind is NotificationKind.ANSWER and n.open()):
                self.inbox.resolve(n.id, how, at)

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

    # -- administration -----------------------------------------------------------
    def add_party(self, who: Principal, party: Party) -> Party:
        who.require(Action.ADMINISTER)
        with self._writing():
            if party.id in self.service.parties():
                raise AlreadyExists("party", party.id)
            self._after(self.service.apply([Change(party=party)], who.member))
        return party

    def issue_credential(self, who: Principal | None, party: str, member: str, role: Role,
                         expires_at: datetime | None = None) -> tuple[Credential, str]:
        """``who`` None means the local administrator (the CLI on the server's machine)."""
        if who is not None:
            who.require(Action.ADMINISTER)
        with self._writing():
            if role is not Role.ADMIN and party not in self.service.parties():
                raise NotFound("party", party)
            cred, token = issue(party if role is not Role.ADMIN else "", member, role, self.clock(), expires_at)
            self._append([EventDraft("credential.issued", who.member if who else ADMIN, cred.id, cred.payload())])
        return cred, token

    def revoke_credential(self, who: Principal | None, cred_id: str) -> None:
        if who is not None:
            who.require(Action.ADMINISTER)
        with self._writing():
            if self.keyring.get(cred_id) is None:
                raise NotFound("credential", cred_id)
            self._append([EventDraft("credential.revoked", who.member if who else ADMIN, cred_id, {"id": cred_id})])

    def authenticate(self, token: str | None) -> Principal:
        return self.keyring.authenticate(token, self.clock())

    # -- reads -----------------------------------------------------------------
    def _lookup(self, result: CheckResult) -> dict[str, Declaration]:
        """The declarations a result's findings are about (for disclosure)."""
        out = {}
        for f in result.findings:
            if f.object_type == "declaration" and f.object_id not in out:
                with contextlib.suppress(NotFound):
                    out[f.object_id] = self.service.engine.get_declaration(f.object_id)
        return out

    def declarations(self, who: Principal) -> list[Declaration]:
        who.require(Action.READ)
        # Copied under the lock (current, and still while copied), read outside it.
        now = self.read_service(lambda service: service.engine.frozen_declarations())
        return [d for d in now if who.is_admin or visible(d, who.party)]

    def declarations_page(self, who: Principal, q: listing.Query) -> tuple[list[Listed], str | None]:
        """A page of the declarations ``who`` may see (service/listing.py): the
        engine's state copied under the lock, the page read outside it; those of
        the start-up snapshot as stored documents, never decoded (engine/listing.py)."""
        who.require(Action.READ)
        ask: Callable[[Filter], tuple[list[Listed], str | None]] = self.read_service(
            lambda service: service.engine.pager())
        party = who.party

        def sees(owner: str, share: ShareWith) -> bool:
            return who.is_admin or share.allows(party, owner)

        return ask(listing.engine_filter(q, sees, lambda d: who.is_admin or visible(d, party)))

    def _owns(self, party: str, decl_id: str) -> bool:
        engine = self.service.engine
        return engine.has_declaration(decl_id) and engine.get_declaration(decl_id).owner == party

    def _may_see(self, who: Principal, decl_id: str) -> bool:
        engine = self.service.engine
        return engine.has_declaration(decl_id) and (who.is_admin or visible(engine.get_declaration(decl_id),
                                                                             who.party))

    def own_id(self, who: Principal, activity: Declaration) -> Declaration:
        """``activity`` under the id its party chose, in that party's namespace (service/namespace.py)."""
        if who.is_admin or activity.owner != who.party:
            return activity  # refused as such by the check or submit
        ident = namespace.qualify(who.party, activity.id, self.service.parties(), lambda i: self._owns(who.party, i))
        return activity if ident == activity.id else dataclasses.replace(activity, id=ident)

    def declaration(self, who: Principal, decl_id: str) -> Declaration:
        who.require(Action.READ)
        decl_id = namespace.resolve(who.party, decl_id, lambda i: self._may_see(who, i))
        try:
            d = self.service.engine.get_declaration(decl_id)
        except NotFound:
            raise NotFound("declaration", decl_id) from None
        if not (who.is_admin or visible(d, who.party)):
            raise NotFound("declaration", decl_id)  # not 403: existence itself is not shared
        return d

    def measures(self, who: Principal) -> dict[str, Any]:
        who.require(Action.READ)
        with self._reading():
            return {"in_force": [encode_measure(m) for m in self.service.measures()],
                    "proposed": [p.to_json() for p in self.proposals.values()],
                    "agreements": measure_life.agreements(self)}

    # -- activities ---------------------------------------------------------------
    def _owned(self, who: Principal, activity: Declaration) -> None:
        if who.is_admin:
            raise Forbidden("an administrator does not plan activities; use a party's credential")
        if activity.owner != who.party:
            raise Forbidden(f"{who.party} may only declare its own activities, not {activity.owner}'s")

    def check(self, who: Principal, activity: Declaration, *, chosen_id: bool = True) -> dict[str, Any]:
        """A dry run: writes nothing. ``chosen_id``: the id is the party's choice,
        so it goes into the party's namespace (False: the service chose it)."""
        who.require(Action.CHECK)
        self._owned(who, activity)
        activity = self.own_id(who, activity) if chosen_id else activity
        parts = self.service.engine.prebuild(activity)  # the costly geometry, before the lock
        with self._reading():
            # Past its budget, every dry run of the party is refused (service/probing.py).
            self.probes.require(who.party, self.clock())
            self.probes.count_check(who.party, self.clock())
            self.service.engine.adopt(activity, parts)
            result = self.service.check(activity)
            lookup = self._lookup(result)
            hidden = hidden_owners(result, who.party, lookup)
            shown = encode_result(redact(result, who.party, lookup))
            presence = self._presence(activity)
            blocking = result.verdict in BLOCKING and not presence
            # Who a submit would notify, as it stands now: a dry run tells nobody.
            by_party, _kinds, asked = targets_of(
                who=who.party, activity=activity, result=result,
                measures={m.id: m for m in self.service.measures()}, parties=set(self.service.parties()),
                presence=presence, must_acknowledge=self._must_acknowledge(who.party))
            objectors = {n.party for n in self.inbox.about(activity.id) if n.objection_open()} - {who.party}
            answer = {**shown, "presence": presence, "would_be_refused": blocking,
                      "shared_with": shared_with(activity),
                      "will_notify": sorted({*by_party, *asked, *objectors})}
        if hidden:
            with self._writing():
                self._append(self._probe_drafts(who, hidden, "check"))
        return answer

    def _probe_drafts(self, who: Principal, hidden: dict[str, str], via: str) -> list[EventDraft]:
        """The record of a probe, and, when it uses the last of the prober's
        budget, notifications to every owner it probed within the window."""
        owners = sorted(set(hidden.values()))
        drafts = [EventDraft("probe.recorded", who.party, "", {
            "prober": who.party, "member": who.member, "via": via, "owners": owners})]
        now = self.clock()
        budget = self.probes.budget(who.party)
        if self.probes.used(who.party, now) + 1 == budget.limit:
            told = sorted(set(owners) | set(self.probes.owners_in_window(who.party, now)))
            for owner in told:
                n = Notification(
                    secrets.token_hex(8), owner, NotificationKind.PROBING, who.party, who.party,
                    f"{who.party} made {budget.limit} checks touching your declarations not shared with it "
                    f"within {budget.window_s:g} s; its further checks are refused until the window frees",
                    {"prober": who.party, "limit": budget.limit, "window_s": budget.window_s},
                    now, now + self.ack_deadline)
                drafts.append(EventDraft("notification.sent", who.party, n.id, n.payload()))
        return drafts

    def set_probe_budget(self, who: Principal | None, party: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An administrator sets a party's budget of checks touching hidden declarations."""
        if who is not None:
            who.require(Action.ADMINISTER)
        budget = Budget.decode(payload)
        with self._writing():
            if party not in self.service.parties():
                raise NotFound("party", party)
            self._append([EventDraft("probe.budget_set", who.member if who else ADMIN, party,
                                     budget.payload(party))])
            return self.probes.status(party, self.clock())

    def probe_status(self, who: Principal) -> dict[str, Any]:
        who.require(Action.READ)
        with self._reading():
            return self.probes.status(who.party, self.clock())

    def probed(self, who: Principal) -> list[dict[str, Any]]:
        """Who probed the caller's hidden declarations, and how often (in aggregate)."""
        who.require(Action.READ)
        with self._reading():
            return self.probes.probed(None if who.is_admin else who.party)

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

    def _decide(self, item: Submission, in_batch: set[str]) -> Render:
        """Check one submit against everything in force (including the batch so
        far: ``in_batch``, the ids accepted earlier in it); accepted, what makes its
        response and events once numbered."""
        who, activity = item.who, item.activity
        if self.service.engine.has_declaration(activity.id):
            existing = self.service.engine.get_declaration(activity.id)
            if existing.owner != who.party:
                # Name the owner only to a party that may see the declaration: this
                # said "declaration S4 belongs to sdf" to russia, S4 not shared with it.
                whose = existing.owner if visible(existing, who.party) else "another party"
                raise Forbidden(f"declaration {activity.id} belongs to {whose}; choose another id")
        result = self._checked(item, in_batch)  # ``in_batch``: accepted earlier in this batch
        lookup = self._lookup(result)
        shown = encode_result(redact(result, who.party, lookup))
        presence = self._presence(activity)
        # Presence is never refused (service/notify.py): its conflicts are warnings.
        blocking = result.verdict in BLOCKING and not presence
        if blocking and not item.override_reason.strip():
            hidden = hidden_owners(result, who.party, lookup)
            if hidden:
                # A refusal is as much an oracle as a dry run: counted and
                # recorded the same; past the budget, refused the same.
                self.probes.require(who.party, self.clock())
                item.probe = self._probe_drafts(who, hidden, "submit")
            raise Refused({**shown, "shared_with": shared_with(activity)})
        declared = self.service.prepare([Change(declaration=activity)], who.party)

        def render(base_seq: int) -> tuple[dict[str, Any], list[EventDraft]]:
            ref = self.refs.next_for(activity.id, base_seq)
            notes = self._notices(who.party, activity, ref, result, override=blocking,
                                  override_reason=item.override_reason.strip(), presence=presence)
            # The first notification event follows the declaration and the acceptance.
            first = base_seq + 2
            response = {"id": activity.id, "reference": ref, "accepted": True, "overridden": blocking, **shown,
                        "presence": presence,
                        "warnings": [f for f in shown["findings"] if f["kind"] in ("violation", "conflict")]
                        if presence else [],
                        "shared_with": shared_with(activity),
                        "notified": sorted({n.party for n in notes}),
                        "notifications": [{"party": n.party, "reference": reference(first + i),
                                           "kind": n.kind.value, "urgent": n.urgent}
                                          for i, n in enumerate(notes)]}
            accepted = EventDraft("activity.accepted", who.party, activity.id, {
                "id": activity.id, "member": who.member, "verdict": result.verdict.value,
                "override_reason": item.override_reason.strip() or None,
                "idempotency_key": item.idempotency_key or None,
                "request_sha256": item.request_sha256 or None, "response": response,
            })
            return response, [*declared, accepted,
                              *(EventDraft("notification.sent", who.party, n.id, n.payload()) for n in notes)]

        return render

    def _presence(self, activity: Declaration) -> bool:
        return is_presence(activity, {pid: p.kind for pid, p in self.service.parties().items()})

    def _must_acknowledge(self, party: str) -> tuple[str, ...]:
        """The party's setting; a humanitarian party that never said: every armed force
        (humanitarian notification asks the parties to the conflict to confirm)."""
        kept = self.settings.get(party)
        if kept.version:
            return kept.settings.must_acknowledge
        parties = self.service.parties()
        if parties.get(party) is None or parties[party].kind is not PartyKind.HUMANITARIAN:
            return ()
        return tuple(sorted(p for p, v in parties.items() if v.kind is PartyKind.ARMED_FORCE))

    def _notices(self, party: str, activity: Declaration, ref: str | None, result: CheckResult, *,
                 override: bool, override_reason: str, presence: bool) -> list[Notification]:
        now = self.clock()
        notes = activity_notices(
            who=party, activity=activity, reference=ref, result=result,
            measures={m.id: m for m in self.service.measures()}, parties=set(self.service.parties()),
            override=override,
            override_reason=override_reason, presence=presence,
            must_acknowledge=self._must_acknowledge(party), deadlines=self.deadlines, now=now)
        objections = [n for n in self.inbox.about(activity.id) if n.objection_open()]
        if objections:  # an amendment answers them: tell the objectors
            notes = answers.mark_amendments(notes, objections)
            notes += answers.amended_notices(objections, party, activity.id, ref, result.verdict.value, now,
                                             self.deadlines, activity.kind.value, {n.party for n in notes})
        return notes

    def withdraw(self, who: Principal, decl_id: str) -> None:
        who.require(Action.WITHDRAW)
        with self._writing():
            decl = self.declaration(who, decl_id)
            decl_id = decl.id  # the caller's own under its namespace (service/namespace.py)
            if not who.is_admin and decl.owner != who.party:
                raise Forbidden(f"declaration {decl_id} belongs to {decl.owner}")
            now = self.clock()
            ref = self.refs.of_activity(decl_id)
            notes = [
                Notification(secrets.token_hex(8), p, NotificationKind.WITHDRAWAL, decl_id, decl.owner,
                             f"{decl.owner} withdrew {what(decl, p, ref)}",
                             {"id": decl_id, "about": activity_head(decl, p, ref)}, now,
                             *self.deadlines.stamp(p, decl.kind.value, now)[:1],
                             escalate_at=self.deadlines.stamp(p, decl.kind.value, now)[1])
                for p in sorted(self._notified.get(decl_id, set()) - {decl.owner})
            ]
            events = self.service.withdraw(
                decl_id, who.party or ADMIN,
                extra=[EventDraft("notification.sent", who.party or ADMIN, n.id, n.payload()) for n in notes])
            self._after(events)

    # -- measures: agreed, not imposed ----------------------------------------------
    # -- notifications ---------------------------------------------------------------
    def notifications(self, who: Principal, *, deliver: bool = True) -> list[dict[str, Any]]:
        who.require(Action.READ)
        with self._writing():
            mine = self.inbox.all() if who.is_admin else self.inbox.for_party(who.party)
            if deliver and not who.is_admin:
                fresh = [n for n in mine if n.delivered_at is None]
                if fresh:
                    self._append([EventDraft("notification.delivered", who.party, n.id, {"id": n.id}) for n in fresh])
                    mine = self.inbox.for_party(who.party)
            now = self.clock()
            # Unanswered first, overdue first among them, then newest.
            mine.sort(key=lambda n: (n.answer is not None, not n.overdue(now), -n.seq))
            return [n.to_json(now) for n in mine]

    def answer(self, who: Principal, nid: str, answer: Answer, comment: str = "") -> dict[str, Any]:
        who.require(Action.ANSWER)
        with self._writing():
            n = self.inbox.get(nid, who.party)
            Inbox.check_answer(n, answer, comment)
            reply = answers.reply_to(n, answer, comment, who.party, who.member, self.clock(), self.deadlines,
                                     self._kind_of(n.subject))
            events = self._append([EventDraft(f"notification.{answer.value}", who.party, nid,
                                              {"id": nid, "member": who.member, "comment": comment}),
                                   *([EventDraft("notification.sent", who.party, reply.id, reply.payload())]
                                     if reply else [])])
            return receipts.attach(self.service.store, self.inbox.get(nid).to_json(self.clock()), events[:1])

    def _kind_of(self, subject: str) -> str:
        """What a notification is about, for its deadlines: a declaration's kind, or a measure."""
        if self.service.engine.has_declaration(subject):
            return self.service.engine.get_declaration(subject).kind.value
        return "measure" if subject in self.versions else "default"

    def escalate_overdue(self) -> int:
        """Remind, then escalate, once each, notifications past their deadlines
        (service/escalation.py); returns how many steps were taken. Every process
        looks; the first to hold the store's rows takes a step, and the others,
        folding it in under the same rows, find it taken. Nothing due (the usual
        case) takes no rows at all, so looking holds up no decision."""
        with self._reading():
            if not any(escalation.due(self.inbox.all(), self.clock())):
                return 0
        with self._writing():
            now = self.clock()
            remind, escalate = escalation.due(self.inbox.all(), now)
            if remind or escalate:
                self._append(escalation.drafts(remind, escalate, set(self.service.parties()), now))
            return len(remind) + len(escalate)

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


def request_digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

