"""`deconflict audit follow`, a party's witness, against a real server that rewrites its history."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deconflict.store.open import open_store
from tests.cli.test_app import run
from tests.service.conftest import STORES, new_store, started
from tests.service.test_http import activity_doc
from tests.service.test_receipts import forge


def follow(url: str, token: str, state: Path) -> tuple[int, str]:
    res = run("audit", "follow", "--url", url, "--token", token, "--state", str(state), "--rounds", "1")
    return res.returncode, res.stdout + res.stderr


@pytest.mark.parametrize("store_kind", STORES)
def test_a_witness_cosigns_then_detects_a_fork(tmp_path: Path, store_kind: str) -> None:
    path = new_store(store_kind, tmp_path)
    witness = tmp_path / "coalition-witness"
    with started(path) as r:
        token = r.tokens["coalition"]["viewer"]
        code, text = follow(r.url, token, witness)
        assert code == 0 and "first held" in text and "cosigned" in text, text
        with r.client("regime", "planner") as regime:
            accepted = regime.submit(activity_doc(r, "C1"))["receipt"]["seq"]
        code, text = follow(r.url, token, witness)
        assert code == 0 and "extends" in text, text
        # The service publishes the checkpoint with the witness's cosignature.
        served = httpx.get(f"{r.url}/v1/log/checkpoint", headers={"Authorization": f"Bearer {token}"}).text
        assert "\u2014 witness/coalition " in served
        keys = httpx.get(f"{r.url}/v1/log/keys", headers={"Authorization": f"Bearer {token}"}).json()
        assert any(k.startswith("witness/coalition+") for k in keys["witnesses"])
    # The operator takes C1's acceptance out, with the database and the key, and the
    # server goes on (issuing credentials at start): a rewritten history, which
    # the server's own checks pass.
    forge(path, accepted - 1, truncate=True)
    with started(path, seed=False) as r:
        token = r.tokens["coalition"]["viewer"]
        code, text = follow(r.url, token, witness)
        assert code == 1, text
        assert "does not extend" in text and "evidence kept" in text
        assert list(witness.glob("fork-inconsistent-*.json"))
        reported = [e for e in r.hotline.service.store.events() if e.type == "log.fork_reported"]
        assert reported and reported[0].actor == "coalition"
        # Every party is told: the report is in each party's stream.
        with r.client("sdf", "viewer") as sdf:
            first = next(iter(sdf.stream(after=reported[0].seq - 1, wait=0.2, timeout=10)))
        assert first.type == "log.fork_reported" and first.data["reported_by"] == "coalition"
    res = run("audit", "verify", "--store", str(path))
    assert res.returncode == 1 and "fork reported" in res.stdout, res.stdout + res.stderr
    with open_store(path) as st:
        assert st.vouch().forks
