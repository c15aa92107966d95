"""Declaration ids: a namespace per party (issue 9).

An id is an oracle if its answer depends on what the caller may not see: a
submit of "S4" answered 403 "belongs to another party" when another party held
S4 hidden from the caller, and 201 when S4 was free. So the id a party chooses
is placed in that party's own namespace, ``<party>:<id>``, and no answer about
it depends on anything but the caller's own declarations, or the name itself:

- a chosen id ``X`` (no namespace) of party P is ``P:X``, unless P itself holds
  a declaration named exactly ``X`` from before namespaces (then ``X``, so P
  amends it);
- ``P:X`` is P's own; ``Q:X`` for another party Q is refused (403) by its name
  alone, whether or not Q holds it;
- a server-chosen id (``a-...``: random, or a digest of the party and its
  Idempotency-Key) is unique by construction and kept as it is.

Reading by id (``GET``/``DELETE /v1/declarations/{id}``, ``GET /v1/activities/{id}``)
takes the id as given when it names a declaration the caller may see (another
party's shared one: the caller knows it already), else the caller's own
``P:id``. A hidden declaration counts as absent, so the answer is the one a free
id gets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from deconflict.errors import InvalidInput
from deconflict.model.party import MAX_ID
from deconflict.service.auth import Forbidden

SEPARATOR = ":"


def owner_of_name(ident: str, parties: Iterable[str]) -> str | None:
    """The party whose namespace ``ident`` is in, by its name alone (None: none)."""
    for p in parties:
        if ident.startswith(p + SEPARATOR):
            return p
    return None


def qualify(party: str, chosen: str, parties: Iterable[str], owns: Callable[[str], bool],
            field: str = "activity.id") -> str:
    """The id of party ``party``'s declaration when it chose ``chosen``.

    ``owns(id)``: whether ``party`` holds a declaration of exactly that id (its
    own state only: nothing another party holds may change the answer)."""
    others = [p for p in parties if p != party]
    if not chosen.startswith(party + SEPARATOR):
        if (other := owner_of_name(chosen, others)) is not None:
            raise _foreign(party, other, field)
        if owns(chosen):  # declared before namespaces: the party amends it by its old name
            return chosen
        chosen = f"{party}{SEPARATOR}{chosen}"
        if len(chosen) > MAX_ID:
            raise InvalidInput(field, f"must be at most {MAX_ID - len(party) - 1} characters: it is kept as "
                                      f"{party}{SEPARATOR}<id>, and an id has at most {MAX_ID}")
    # A party id holding the separator ("a" and "a:b") would share names: "a:b:c"
    # is in both namespaces. Refused by the name, never by what holds it.
    if (other := owner_of_name(chosen, [p for p in others if len(p) > len(party)])) is not None:
        raise _foreign(party, other, field)
    return chosen


def _foreign(party: str, other: str, field: str) -> Forbidden:
    return Forbidden(f"{field}: ids beginning {other + SEPARATOR!r} are {other}'s; "
                     f"choose an id of your own (it is kept as {party + SEPARATOR}<id>)")


def resolve(party: str, given: str, may_see: Callable[[str], bool]) -> str:
    """The declaration a reader names ``given``: as given if the reader may see
    it, else the reader's own ``party:given`` (a hidden one counts as absent)."""
    if not party or given.startswith(party + SEPARATOR) or may_see(given):
        return given
    return f"{party}{SEPARATOR}{given}"
