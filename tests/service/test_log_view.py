"""A stream's pages (service/log_view.py)."""

from __future__ import annotations

from pathlib import Path

from deconflict.model import Party, PartyKind
from deconflict.service import log_view
from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore

WINDOW = {"start": "2018-02-12T10:00:00Z", "end": "2018-02-12T11:00:00Z"}


def test_a_page_read_from_the_store_holds_only_what_this_process_has_folded_in(tmp_path: Path) -> None:
    """Another worker's newer events are in the store before this process has
    folded them in; a page handed them out with this process's state behind
    them: a notification.sent unknown to its inbox raised NotFound and ended
    the stream (seen with serve --workers 2)."""
    path = tmp_path / "s.sqlite3"
    with Deconflict(SQLiteStore(path)) as mine, Deconflict(SQLiteStore(path)) as other:
        mine.apply([Change(party=Party("relief", "Relief", PartyKind.HUMANITARIAN))])
        hotline = Hotline(mine)
        _cred, token = hotline.issue_credential(None, "relief", "watch", Role.VIEWER)
        who = hotline.authenticate(token)
        head = hotline.head
        other.sync()
        site = {"kind": "site", "id": "relief:H1", "owner": "relief", "category": "protected", "protection_m": 100,
                "window": WINDOW, "geometry": {"type": "Point", "coordinates": [41.0, 36.9]}}
        other.apply([Change(declaration=decode_declaration(site, "d"))])
        assert mine.store.events_after(head), "the other process's event is in the store"
        items, last, full = log_view.page(hotline, who, head, 200)
        assert (items, last, full) == ([], head, False)  # not yet folded in: not handed out
        hotline.catch_up()
        items, last, _full = log_view.page(hotline, who, head, 200)
        assert [etype for _s, etype, _d in items] == ["declaration.declared"] and last == hotline.head
