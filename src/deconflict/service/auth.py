"""Credentials, roles and what each role may do.

A credential is a bearer token ``dcf_<id>_<secret>``. The secret is 256 random
bits; only its SHA-256 is stored (a slow password hash buys nothing against a
secret that cannot be guessed), and it is compared in constant time. The token
is printed once, when issued. Credentials can expire and be revoked; both are
events in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from deconflict.errors import DeconflictError, InvalidInput
from deconflict.model.party import check_id

TOKEN_PREFIX = "dcf"


class Role(StrEnum):
    VIEWER = "viewer"  # sees the picture its party may see
    PLANNER = "planner"  # checks, submits, changes and withdraws its party's activities
    LIAISON = "liaison"  # everything a planner does, plus answers notifications and agrees measures
    ADMIN = "admin"  # creates parties, issues credentials, imposes measures


class Action(StrEnum):
    READ = "read"
    CHECK = "check"
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    ANSWER = "answer"
    PROPOSE_MEASURE = "propose_measure"
    ACCEPT_MEASURE = "accept_measure"
    #: Report an incident, add a note to one, close one's own (service/incident_desk.py).
    REPORT_INCIDENT = "report_incident"
    ADMINISTER = "administer"


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.PLANNER: frozenset({Action.READ, Action.CHECK, Action.SUBMIT, Action.WITHDRAW, Action.REPORT_INCIDENT}),
    Role.LIAISON: frozenset({
        Action.READ, Action.CHECK, Action.SUBMIT, Action.WITHDRAW, Action.ANSWER,
        Action.PROPOSE_MEASURE, Action.ACCEPT_MEASURE, Action.REPORT_INCIDENT,
    }),
    # Not frozenset(Action): an administrator administers and imposes measures
    # but is no party, so it must not check, submit, withdraw (another party's
    # declaration), answer or accept. With every action it could DELETE any
    # party's declaration (204) and got 404 rather than 403 on answers.
    Role.ADMIN: frozenset({Action.READ, Action.PROPOSE_MEASURE, Action.ADMINISTER}),
}


class Unauthenticated(DeconflictError):
    """No credential, or one that is unknown, expired or revoked (HTTP 401)."""


class Forbidden(DeconflictError):
    """The credential is valid but may not do this (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class Principal:
    credential_id: str
    party: str  # "" for an administrator
    member: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require(self, action: Action, owner: str | None = None) -> None:
        """Raise Forbidden unless this principal may do ``action`` (on ``owner``'s object)."""
        if action not in ALLOWED[self.role]:
            raise Forbidden(f"role {self.role.value} may not {action.value.replace('_', ' ')}")
        if owner is not None and not self.is_admin and owner != self.party:
            raise Forbidden(f"the object belongs to {owner}, not to {self.party}")


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    party: str
    member: str
    role: Role
    secret_sha256: str
    issued_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def principal(self) -> Principal:
        return Principal(self.id, self.party, self.member, self.role)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id, "party": self.party, "member": self.member, "role": self.role.value,
            "secret_sha256": self.secret_sha256,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(party: str, member: str, role: Role, now: datetime,
          expires_at: datetime | None = None) -> tuple[Credential, str]:
    """A new credential and its token (shown once, never stored)."""
    if role is not Role.ADMIN:
        check_id(party, "party")
    check_id(member, "member")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at", "must be in the future")
    cid = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    cred = Credential(cid, party, member, role, _digest(secret), now, expires_at)
    return cred, f"{TOKEN_PREFIX}_{cid}_{secret}"


class Keyring:
    """The credentials in force, rebuilt from the log and kept current."""

    def __init__(self) -> None:
        self._by_id: dict[str, Credential] = {}

    def add(self, cred: Credential) -> None:
        self._by_id[cred.id] = cred

    def revoke(self, cred_id: str, at: datetime) -> Credential:
        cred = self._by_id.get(cred_id)
        if cred is None:
            raise InvalidInput("id", f"no credential {cred_id!r}")
        revoked = Credential(cred.id, cred.party, cred.member, cred.role, cred.secret_sha256,
                             cred.issued_at, cred.expires_at, at)
        self._by_id[cred_id] = revoked
        return revoked

    def get(self, cred_id: str) -> Credential | None:
        return self._by_id.get(cred_id)

    def all(self) -> list[Credential]:
        return list(self._by_id.values())

    def authenticate(self, token: str | None, now: datetime) -> Principal:
        if not token:
            raise Unauthenticated("no credential: send 'Authorization: Bearer <token>'")
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise Unauthenticated("malformed credential")
        cred = self._by_id.get(parts[1])
        # Compare even when the id is unknown, so timing does not tell ids apart.
        expected = cred.secret_sha256 if cred is not None else "0" * 64
        if not hmac.compare_digest(expected, _digest(parts[2])) or cred is None:
            raise Unauthenticated("unknown credential")
        if cred.revoked_at is not None:
            raise Unauthenticated("credential revoked")
        if cred.expires_at is not None and now >= cred.expires_at:
            raise Unauthenticated("credential expired")
        return cred.principal()
