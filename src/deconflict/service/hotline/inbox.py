"""A party's notifications: delivered, answered, reminded and escalated.

Separate because it is what a party is told and answers, after the decisions
that told it (service/notifications.py holds the inbox itself,
service/answers.py and service/escalation.py the rules of answers and deadlines).
"""

from __future__ import annotations

from typing import Any

from deconflict.service import answers, escalation, receipts
from deconflict.service.auth import Action, Principal
from deconflict.service.hotline.core import Core
from deconflict.service.notifications import Answer, Inbox
from deconflict.store.events import EventDraft


class Notifying(Core):
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
