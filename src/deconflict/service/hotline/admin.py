"""The hotline's administration: parties and credentials.

Separate because it is the administrator's business alone (every operation
here requires :attr:`Action.ADMINISTER`, or is the local administrator's),
and touches nothing a party plans or is told.
"""

from __future__ import annotations

from datetime import datetime

from deconflict.errors import AlreadyExists, NotFound
from deconflict.model import Party
from deconflict.service.auth import Action, Credential, Principal, Role, issue
from deconflict.service.deconflict import ADMIN, Change
from deconflict.service.hotline.core import Core
from deconflict.store.events import EventDraft


class Administration(Core):
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

