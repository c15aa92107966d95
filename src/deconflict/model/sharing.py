"""With whom a declaration may be shared."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShareWith:
    """``everyone`` or an explicit set of party ids (the owner always sees its own)."""

    everyone: bool = True
    parties: frozenset[str] = frozenset()

    @classmethod
    def all(cls) -> ShareWith:
        return cls(True, frozenset())

    @classmethod
    def only(cls, parties: frozenset[str] | set[str] | list[str]) -> ShareWith:
        return cls(False, frozenset(parties))

    def allows(self, party: str, owner: str) -> bool:
        return self.everyone or party == owner or party in self.parties
