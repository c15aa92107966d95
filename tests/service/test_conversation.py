"""The conversation as the parties read it: references, the inbox badge, the CSV
export, the typed client's retries, and all of it over a restart."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from deconflict.errors import InvalidInput
from deconflict.service.client import Client, ProblemError
from deconflict.service.references import parse_reference, reference
from tests.service.conftest import Running, started
from tests.service.test_notifications import activity_doc


def test_references_read_back() -> None:
    assert reference(123) == "DC-000123" and reference(12345678) == "DC-12345678"
    for text in ("DC-000123", "dc-123", "DC123", " DC-0000123 "):
        assert parse_reference(text) == 123
    for bad in ("", "DC-", "XY-12", "DC-12a", "DC-" + "9" * 30):
        with pytest.raises(InvalidInput):
            parse_reference(bad)


def test_every_activity_and_notification_has_a_unique_reference(running: Running) -> None:
    with running.client("russia") as russia, running.client("coalition") as coalition:
        a = russia.submit(activity_doc(running, "C2", id="F1x"), override_reason="exercise")
        b = russia.submit(activity_doc(running, "C1", id="F2x"))
        amended = russia.submit(activity_doc(running, "C1", id="F1x"))
        assert amended["reference"] == a["reference"]  # kept while it is amended
        refs = [a["reference"], b["reference"], *(n["reference"] for n in a["notifications"])]
        refs += [n["reference"] for n in coalition.notifications()]
        assert len(set(refs)) == len(refs) - 1  # the one notification listed twice
        # The declarations of the scenario have references too.
        assert coalition.activity("S1")["reference"].startswith("DC-")
        # A reference of what the caller may not see is not found.
        s4 = running.hotline.refs.of_activity("S4")
        assert s4 is not None
        with pytest.raises(ProblemError) as e:
            russia.reference(s4)
        assert e.value.status == 404
        with pytest.raises(ProblemError) as e:
            russia.reference("DC-999999")
        assert e.value.status == 404


def test_csv_export_of_a_partys_notifications_and_answers(running: Running) -> None:
    with running.client("russia") as russia, running.client("coalition") as coalition:
        out = russia.submit(activity_doc(running, "C2", id="F3x"), override_reason="=HYPERLINK(\"x\")")
        [n] = [n for n in coalition.notifications() if n["subject"] == "russia:F3x"]  # its namespace
        coalition.object(n["id"], "-1 no, our advisers are there")
        text = coalition.export_notifications()
        rows = list(csv.DictReader(io.StringIO(text)))
        [row] = [r for r in rows if r["reference"] == n["reference"]]
        assert row["direction"] == "received" and row["status"] == "objected" and row["from_party"] == "russia"
        assert row["subject_reference"] == out["reference"] and row["delivered_at"] and row["answered_at"]
        assert row["comment"] == "'-1 no, our advisers are there"  # never a formula in a spreadsheet
        assert all(not r["summary"].startswith("=") for r in rows)
        [sent] = [r for r in rows if r["direction"] == "sent"]
        assert sent["kind"] == "answer" and sent["party"] == "russia"
        # A party exports its own only, whatever it asks for.
        assert russia.export_notifications("coalition") == russia.export_notifications()
    with running.as_admin() as admin:
        every = list(csv.DictReader(io.StringIO(admin.export_notifications())))
        assert len(every) == len(running.hotline.inbox.all())


def test_the_typed_client_always_sends_an_idempotency_key(running: Running) -> None:
    seen: list[str | None] = []

    def record(request: httpx.Request) -> None:
        if request.url.path == "/v1/activities":
            seen.append(request.headers.get("idempotency-key"))

    with running.client("russia") as russia:
        russia.http.event_hooks["request"] = [record]
        russia.submit(activity_doc(running, "C1", id="k1"))
        russia.submit(activity_doc(running, "C1", id="k2"), idempotency_key="mine")
    assert seen[0] is not None and seen[0].startswith("py-") and seen[1] == "mine"


def test_objections_reminders_and_references_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite3"
    with started(path) as first, first.client("russia") as russia, first.client("coalition") as coalition:
        out = russia.submit(activity_doc(first, "C2", id="F4x"), override_reason="exercise")
        [n] = [n for n in coalition.notifications() if n["subject"] == "russia:F4x"]  # its namespace
        coalition.object(n["id"], "no")
        view = russia.activity("F4x")
    with started(path) as second, Client(second.url, second.tokens["russia"]["liaison"]) as russia:
        again = russia.activity("F4x")
        assert again["reference"] == out["reference"]
        assert again["open_objections"] == view["open_objections"]
        assert again["recipients"] == view["recipients"]
        assert russia.reference(n["reference"])["id"] == n["id"]


def test_declarations_list_their_references_on_request(running: Running) -> None:
    with running.client("russia", "viewer") as viewer:
        plain = viewer.get("/v1/declarations")
        with_refs = viewer.get("/v1/declarations", references="true")
    assert all("reference" not in d for d in plain)
    assert {d["id"]: d["reference"] for d in with_refs}["S1"] == running.hotline.refs.of_activity("S1")
    assert all(d["reference"].startswith("DC-") for d in with_refs)


def test_the_sender_of_a_notification_never_reads_the_recipients_side(running: Running) -> None:
    """russia's fire C6 conflicts with sdf's S4, which is not shared with russia: sdf's
    notification names S4 and its label; russia, told the reference, must not read them."""
    with running.client("russia") as russia:
        out = russia.submit(activity_doc(running, "C6", id="F6x"), override_reason="exercise")
        [to_sdf] = [n for n in out["notifications"] if n["party"] == "sdf"]
        found = russia.reference(to_sdf["reference"])
        assert found["party"] == "sdf" and "summary" not in found
        exported = russia.export_notifications()
    for text in (str(found), exported):
        assert "S4" not in text and "Khasham" not in text
    with running.client("sdf") as sdf:
        assert "Khasham" in sdf.reference(to_sdf["reference"])["summary"]


def test_a_submit_whose_answer_is_lost_is_retried_with_its_key_and_accepted_once(running: Running) -> None:
    lost: list[str] = []

    def lose_first_answer(response: httpx.Response) -> None:
        if response.request.url.path == "/v1/activities" and not lost:
            lost.append(response.request.headers["idempotency-key"])
            raise httpx.ReadError("the answer was lost", request=response.request)

    with running.client("russia") as russia:
        russia.http.event_hooks["response"] = [lose_first_answer]
        doc = activity_doc(running, "C1")  # no id: the server names it from the key
        out = russia.submit(doc)
    accepted = [e for e in running.hotline.service.store.events() if e.type == "activity.accepted"]
    assert lost and [e.subject for e in accepted] == [out["id"]]  # decided once, answered on the retry
    assert accepted[0].payload["idempotency_key"] == lost[0]
