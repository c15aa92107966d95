"""``deconflict notifications list|export`` on the server's machine: references and
acknowledgements from the store, as the API's export gives them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from deconflict.codecs.scenario import load_scenario
from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.notifications import Answer
from deconflict.store.documents import decode_declaration, encode_declaration
from deconflict.store.sqlite import SQLiteStore
from tests.cli.test_app import run
from tests.conftest import BUNDLED


def test_list_and_export_show_references_and_answers(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    scenario = load_scenario(BUNDLED)
    with Deconflict(SQLiteStore(store)) as service:
        service.apply([Change(party=p) for p in scenario.parties] + [Change(measure=m) for m in scenario.measures]
                      + [Change(declaration=d) for d in scenario.declarations])
        hotline = Hotline(service)
        russia = hotline.authenticate(hotline.issue_credential(None, "russia", "ops", Role.LIAISON)[1])
        coalition = hotline.authenticate(hotline.issue_credential(None, "coalition", "jo", Role.LIAISON)[1])
        check = next(c for c in scenario.checks if c.id == "C2")
        doc = {**encode_declaration(check.activity), "id": "F7", "owner": "russia"}
        out = hotline.submit(russia, decode_declaration(doc), override_reason="exercise")[1]
        [n] = [n for n in hotline.inbox.for_party("coalition") if n.subject == "russia:F7"]
        hotline.answer(coalition, n.id, Answer.OBJECTED, "our advisers are there")
    listed = run("notifications", "list", "--party", "coalition", store=store)
    assert listed.returncode == 0, listed.stderr
    assert n.reference in listed.stdout and "objected" in listed.stdout
    exported = run("notifications", "export", "--party", "coalition", store=store)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    [row] = [r for r in rows if r["reference"] == n.reference]
    assert row["comment"] == "our advisers are there" and row["subject_reference"] == out["reference"]
    assert run("notifications", "export", "-o", str(tmp_path / "all.csv"), store=store).returncode == 0
    assert (tmp_path / "all.csv").read_text().startswith("reference,direction,kind")
