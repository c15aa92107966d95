"""What a party may read of the declarations and measures in force.

Every read is filtered by disclosure (service/disclosure.py): a party sees
its own declarations and those shared with it, and ids resolve in its own
namespace (service/namespace.py). Separate because it writes nothing: reads
copy under the lock and filter outside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from deconflict.engine.listing import Filter, Listed
from deconflict.errors import NotFound
from deconflict.model import CheckResult, Declaration, ShareWith
from deconflict.service import listing, measure_life, namespace
from deconflict.service.auth import Action, Principal
from deconflict.service.disclosure import visible
from deconflict.service.hotline.core import Core
from deconflict.store.documents import encode_measure


class Reads(Core):
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

