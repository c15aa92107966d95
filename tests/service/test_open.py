"""The service refuses to serve what the log cannot vouch for (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.errors import TamperedLog
from deconflict.service.deconflict import Deconflict
from deconflict.store.events import canonical_json
from deconflict.store.sqlite import SQLiteStore
from tests.service.conftest import BUNDLED, load_scenario
from tests.store.helpers import raw


def test_a_service_does_not_start_on_an_edited_state_table(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    scenario = load_scenario(BUNDLED)
    from deconflict.codecs.scenario import load_into

    with Deconflict(SQLiteStore(path)) as svc:
        load_into(svc, scenario)
        s1 = svc.engine.get_declaration("S1")
        assert getattr(s1, "protection_m", 0) > 100
    db = raw(path)
    doc = json.loads(db.execute("SELECT doc FROM declarations WHERE id = 'S1'").fetchone()[0])
    doc["protection_m"] = 1  # what issue 9 did: the engine then missed C2's conflict with S1
    db.execute("UPDATE declarations SET doc = ? WHERE id = 'S1'", (canonical_json(doc),))
    db.close()
    with pytest.raises(TamperedLog) as info:
        Deconflict(SQLiteStore(path))
    assert "'S1'" in str(info.value) and "edited outside the log" in str(info.value)
