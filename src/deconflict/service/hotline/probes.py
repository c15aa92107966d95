"""Probe accounting: checks that touch declarations hidden from the checker.

A dry run or a refusal that names findings against declarations the caller
may not see is an oracle: each is recorded, counted against the party's
budget (service/probing.py), and past it refused; the owners are told when a
prober uses the last of its budget. Separate because it is the hotline's
defence against inference, the same for a check and a submit.
"""

from __future__ import annotations

import secrets
from typing import Any

from deconflict.errors import NotFound
from deconflict.service.auth import Action, Principal
from deconflict.service.deconflict import ADMIN
from deconflict.service.hotline.core import Core
from deconflict.service.notifications import Notification, NotificationKind
from deconflict.service.probing import Budget
from deconflict.store.events import EventDraft


class Probes(Core):
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

