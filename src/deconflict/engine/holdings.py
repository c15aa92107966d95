"""The declarations in force as an engine holds them, and the parties.

Declarations sit in a compact table (engine/table.py), one slot each, their
parts' boxes and windows in the spatial index (engine/index.py); a part is
built only when a check first needs it, and kept in a bounded cache. Ids
resolve to slots; a withdrawn or replaced declaration leaves the index at
once. Separate because it is the engine's storage, which loading, snapshots,
measures and checks (engine/checker.py) all read, and none of them changes
how it is kept.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from deconflict.engine.bulk import part_tag
from deconflict.engine.index import GridIndex
from deconflict.engine.listing import Filter, Listed
from deconflict.engine.parts import Part, declaration_part, declaration_parts
from deconflict.engine.table import DeclarationTable
from deconflict.errors import AlreadyExists, NotFound, UnknownReference
from deconflict.geo.bounds import Box
from deconflict.geo.shape import trusted
from deconflict.model import CautionMargins, Declaration, Party, ShareWith

#: Parts of this many declarations are kept built between checks.
PART_CACHE_SIZE = 50_000


class Holdings:
    """The parties and the declarations in force (see the module's docstring)."""

    def __init__(self, margins: CautionMargins | None = None) -> None:
        self.margins = margins or CautionMargins()
        self._parties: dict[str, Party] = {}
        # Compact: a table that may hold declarations encoded until asked for,
        # and machine integers rather than a list of Python ints per declaration
        # and per part (about 36 bytes each in a list, 4 or 8 here).
        self._decls = DeclarationTable()
        # Ids of the slots added since the table's base (the base finds its own
        # by a binary search: a dict entry and a string per declaration were
        # about 130 bytes each at 1M).
        self._slot: dict[str, int] = {}
        self._live = 0
        self._first_part = array("q")
        self._n_parts = array("i")
        self._part_owner = array("i")
        self._index = GridIndex()
        # Per declaration, its parts built so far (a check builds only the part it needs).
        self._cache: OrderedDict[int, list[Part | None]] = OrderedDict()
        self._parts_memo: tuple[Declaration, list[Part]] | None = None

    # -- parties ---------------------------------------------------------------
    def add_party(self, party: Party) -> None:
        if party.id in self._parties:
            raise AlreadyExists("party", party.id)
        self._parties[party.id] = party

    @property
    def parties(self) -> dict[str, Party]:
        return dict(self._parties)

    def _party(self, pid: str, field: str) -> None:
        if pid not in self._parties:
            known = ", ".join(sorted(self._parties)) or "none yet"
            raise UnknownReference(field, f"unknown party {pid!r} (known: {known})")

    def validate_declaration(self, decl: Declaration) -> list[Part]:
        """Check references and geometry; return the parts. Raises InvalidInput."""
        self._party(decl.owner, "owner")
        for p in sorted(decl.share_with.parties):
            self._party(p, "share_with")
        # A submit validates the same (immutable) object three times: checked,
        # prepared, then added. Holding the last one by reference keeps its id
        # from being reused, so identity is a safe key.
        memo = self._parts_memo
        if memo is not None and memo[0] is decl:
            return memo[1]
        parts = declaration_parts(decl)
        self._parts_memo = (decl, parts)
        return parts

    def prebuild(self, decl: Declaration) -> list[Part]:
        """:meth:`validate_declaration` without touching the engine's memo: for a
        request's thread, before it takes the service's lock (which then hands
        the parts over with :meth:`adopt`), so the costly geometry is never
        built while others wait for the lock."""
        self._party(decl.owner, "owner")
        for p in sorted(decl.share_with.parties):
            self._party(p, "share_with")
        return declaration_parts(decl)

    def adopt(self, decl: Declaration, parts: list[Part]) -> None:
        """Use ``parts`` (from :meth:`prebuild` of this very object) as its parts."""
        self._parts_memo = (decl, parts)

    # -- declarations --------------------------------------------------------
    def add_declaration(self, decl: Declaration, *, replace: bool = False) -> None:
        parts = self.validate_declaration(decl)
        if self._slot_of(decl.id) is not None:
            if not replace:
                raise AlreadyExists("declaration", decl.id)
            self.remove_declaration(decl.id)
        slot = len(self._decls)
        self._decls.append(decl)
        self._slot[decl.id] = slot
        self._live += 1
        first = -1
        for part in parts:
            pid = self._index.add(part.shape.box(part.radius_m), part.window.start, part.window.end,
                                  part_tag(part))
            self._part_owner.append(slot)
            first = pid if first < 0 else first
        self._first_part.append(first)
        self._n_parts.append(len(parts))
        cached: list[Part | None] = list(parts)
        self._remember(slot, cached)

    def _slot_of(self, decl_id: str) -> int | None:
        """The live slot of ``decl_id``, or None."""
        slot = self._slot.get(decl_id)
        return slot if slot is not None else self._decls.base_slot(decl_id)

    def remove_declaration(self, decl_id: str) -> Declaration:
        slot = self._slot.pop(decl_id, None)
        if slot is None:
            slot = self._decls.base_slot(decl_id)
        if slot is None:
            raise NotFound("declaration", decl_id)
        self._live -= 1
        decl = self._decls[slot]
        assert decl is not None
        self._decls[slot] = None
        first = self._first_part[slot]
        for pid in range(first, first + self._n_parts[slot]):
            self._index.remove(pid)
        self._cache.pop(slot, None)
        return decl

    def has_declaration(self, decl_id: str) -> bool:
        return self._slot_of(decl_id) is not None

    def get_declaration(self, decl_id: str) -> Declaration:
        slot = self._slot_of(decl_id)
        if slot is None:
            raise NotFound("declaration", decl_id)
        decl = self._decls[slot]
        assert decl is not None
        return decl

    def declarations(self) -> Iterable[Declaration]:
        return (d for d in self._decls if d is not None)

    def frozen_declarations(self) -> Iterator[Declaration]:
        """The declarations now, to be iterated after the caller lets go of the
        engine (see DeclarationTable.frozen): take it under the lock, read it outside."""
        return self._decls.frozen()

    def documents_later(self) -> Callable[[Callable[[str, ShareWith], bool], Callable[[Declaration], bool]],
                                          list[bytes | Declaration]]:
        """Every declaration now, in id order, read after the caller lets go of the
        engine (see DeclarationTable.documents): the stored document of those
        still encoded, the object of the others."""
        return self._decls.documents()

    def pager(self) -> Callable[[Filter], tuple[list[Listed], str | None]]:
        """Pages of the declarations now, asked after the caller lets go of the
        engine (see DeclarationTable.pager): take it under the lock, ask outside."""
        return self._decls.pager()

    def __len__(self) -> int:
        return self._live

    def _remember(self, slot: int, parts: list[Part | None]) -> None:
        self._cache[slot] = parts
        if len(self._cache) > PART_CACHE_SIZE:
            self._cache.popitem(last=False)

    def _part(self, slot: int, k: int) -> Part:
        """Part ``k`` of the declaration in ``slot``, built (and kept) on first use."""
        parts = self._cache.get(slot)
        if parts is None:
            parts = [None] * self._n_parts[slot]
            self._remember(slot, parts)
        else:
            self._cache.move_to_end(slot)
        part = parts[k]
        if part is None:
            decl = self._decls[slot]
            assert decl is not None
            with trusted():  # in force: validated when it was accepted
                part = parts[k] = declaration_part(decl, k)
        return part

    def _built(self, slot: int, k: int) -> bool:
        parts = self._cache.get(slot)
        return parts is not None and parts[k] is not None

    @property
    def index(self) -> GridIndex:
        return self._index

    def part_of(self, pid: int) -> tuple[Declaration, Part] | None:
        """The live declaration and the (built) part behind index entry ``pid``."""
        slot = self._part_owner[pid]
        decl = self._decls[slot]
        if decl is None:
            return None
        return decl, self._part(slot, pid - self._first_part[slot])

    # -- re-checks -----------------------------------------------------------------
    def declarations_meeting(self, box: Box, start: datetime, end: datetime) -> list[Declaration]:
        """Declarations with a part whose box meets ``box`` during ``[start, end)``:
        the accepted activities a new or changed measure can concern (the service
        checks each of them again)."""
        found: dict[int, Declaration] = {}
        for pid in self._index.query(box, start, end).tolist():
            slot = self._part_owner[pid]
            decl = self._decls[slot]
            if decl is not None:
                found.setdefault(slot, decl)
        return list(found.values())
