"""A measure's whole life (issue 8, item 7): declined with a comment the proposer
receives, withdrawn by its owner with the bound parties told, listed with its
agreement history; accepting an accepted version is 409, not 404."""

from __future__ import annotations

import pytest

from deconflict.service.client import ProblemError
from tests.service.conftest import Running
from tests.service.test_measures import roz


def test_a_bound_party_declines_and_the_proposer_receives_the_comment(running: Running) -> None:
    with running.client("coalition") as coalition, running.client("russia") as russia, \
            running.client("sdf") as sdf:
        coalition.propose_measure(roz("roz-no", binds=["russia", "sdf"]))
        with pytest.raises(ProblemError) as e:
            russia.decline_measure("roz-no", "")
        assert e.value.status == 422 and e.value.problem["field"] == "comment"
        out = russia.decline_measure("roz-no", "Our helicopters use that valley at night", version=1)
        assert out == {"id": "roz-no", "version": 1, "declined": True, "proposer_told": "coalition"}
        [n] = [n for n in coalition.notifications() if n["kind"] == "measure_declined"]
        assert n["from_party"] == "russia" and "Our helicopters use that valley at night" in n["summary"]
        assert n["detail"]["comment"] == "Our helicopters use that valley at night"
        # The proposal ended: nobody can accept it, and sdf's request to accept it is closed.
        assert "roz-no" not in {p["measure"]["id"] for p in sdf.measures()["proposed"]}
        with pytest.raises(ProblemError) as e:
            sdf.accept_measure("roz-no")
        assert e.value.status == 404
        [asked] = [n for n in sdf.notifications() if n["subject"] == "roz-no"]
        assert asked["overdue"] is False and asked["needs_answer"] is True
        assert sdf.notification_summary()["unanswered"] == 0
        history = coalition.measure("roz-no")["history"]
        assert [s["event"] for s in history] == ["agreement.proposed", "agreement.accepted", "agreement.declined"]
        assert history[-1]["comment"] == "Our helicopters use that valley at night"
        assert history[-1]["reference"].startswith("DC-")


def test_accepting_an_accepted_version_is_409(running: Running) -> None:
    with running.client("coalition") as coalition, running.client("russia") as russia, \
            running.client("sdf") as sdf:
        coalition.propose_measure(roz("roz-twice", binds=["russia", "sdf"]))
        russia.accept_measure("roz-twice")
        with pytest.raises(ProblemError) as e:
            russia.accept_measure("roz-twice")
        assert e.value.status == 409 and e.value.problem["type"] == "/problems/already-decided"
        sdf.accept_measure("roz-twice", 1)
        for party in (russia, sdf):
            for version in (None, 1):
                with pytest.raises(ProblemError) as e:
                    party.accept_measure("roz-twice", version)
                assert e.value.status == 409, version
        with pytest.raises(ProblemError) as e:
            sdf.accept_measure("no-such-measure")
        assert e.value.status == 404


def test_the_owner_withdraws_a_measure_and_the_bound_parties_are_told(running: Running) -> None:
    with running.client("coalition") as coalition, running.client("russia") as russia, \
            running.client("sdf") as sdf:
        coalition.propose_measure(roz("roz-gone", binds=["russia", "sdf"]))
        russia.accept_measure("roz-gone")
        sdf.accept_measure("roz-gone")
        with pytest.raises(ProblemError) as e:
            russia.withdraw_measure("roz-gone")
        assert e.value.status == 403
        out = coalition.withdraw_measure("roz-gone")
        assert out["withdrawn"] == "in force" and out["told"] == ["russia", "sdf"]
        for c in (russia, sdf):
            [n] = [n for n in c.notifications() if n["kind"] == "measure_withdrawn"]
            assert "no longer binds you" in n["summary"]
        assert "roz-gone" not in {m["id"] for m in russia.measures()["in_force"]}
        assert coalition.measure("roz-gone")["in_force"] is None
        assert coalition.measure("roz-gone")["history"][-1]["event"] == "measure.withdrawn"
        # A pending proposal is withdrawn too.
        coalition.propose_measure(roz("roz-maybe", binds=["russia"]))
        assert coalition.withdraw_measure("roz-maybe")["withdrawn"] == "proposal"
        assert coalition.measure("roz-maybe")["proposed"] is None


def test_measures_in_force_carry_their_agreement(running: Running) -> None:
    with running.client("coalition") as coalition, running.client("russia") as russia:
        coalition.propose_measure(roz("roz-ok", binds=["russia"]))
        russia.accept_measure("roz-ok")
        listed = russia.measures()
        agreement = listed["agreements"]["roz-ok"]
        assert agreement["version"] == 1 and agreement["put_in_force_by"] == "coalition"
        assert agreement["accepted_by"] == ["coalition", "russia"] and agreement["imposed"] is False
        assert set(listed["agreements"]) == {m["id"] for m in listed["in_force"]}
        assert listed["agreements"]["M1"]["history"][0]["event"] == "measure.added"


def test_accepting_answers_the_request_to_accept(running: Running) -> None:
    with running.client("coalition") as coalition, running.client("russia") as russia, \
            running.client("sdf") as sdf:
        coalition.propose_measure(roz("roz-asked", binds=["russia", "sdf"]))
        assert russia.notification_summary()["unanswered"] == 1
        russia.accept_measure("roz-asked")
        assert russia.notification_summary()["unanswered"] == 0
        assert sdf.notification_summary()["unanswered"] == 1
        sdf.accept_measure("roz-asked")
        assert sdf.notification_summary()["unanswered"] == 0
