"""``deconflict audit`` given a PostgreSQL URL: it opens that store for every
command (verify, keys, checkpoint, bundle). It never creates an SQLite file named
after the URL (typer's Path option folds ``//`` into ``/``), which once left
files such as ``postgresql:/postgres@127.0.0.1:5432/...`` in the work tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deconflict.model.party import Party
from deconflict.service.deconflict import Deconflict
from deconflict.store.open import open_store
from tests.pg import fresh_url


def audit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run([sys.executable, "-m", "deconflict.cli.app", "audit", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture
def pg_store() -> str:
    url = fresh_url()
    with Deconflict(open_store(url)) as svc:
        svc.add_party(Party("coalition", "Coalition"))
    return url


def test_verify_opens_the_postgresql_store(tmp_path: Path, pg_store: str) -> None:
    res = audit(tmp_path, "verify", "--store", pg_store)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "hash chain intact" in res.stdout
    assert list(tmp_path.iterdir()) == []


def test_keys_checkpoint_and_bundle_work_on_the_postgresql_store(tmp_path: Path, pg_store: str) -> None:
    """Export the key, keep a checkpoint, rotate, write a bundle and verify it
    offline with the exported keys: the PostgreSQL store's Merkle log, end to end."""
    work = tmp_path / "cwd"
    work.mkdir()
    res = audit(work, "key", "export", "--store", pg_store)
    assert res.returncode == 0, res.stdout + res.stderr
    old_key = res.stdout.strip().splitlines()[0]
    assert old_key.startswith("deconflict/")
    res = audit(work, "checkpoint", "--store", pg_store)
    assert res.returncode == 0, res.stderr
    held = tmp_path / "held.txt"
    held.write_text(res.stdout)
    assert res.stdout.startswith(old_key.split("+")[0] + "\n1\n")  # one event: the party
    res = audit(work, "key", "rotate", "--store", pg_store)
    assert res.returncode == 0, res.stderr
    new_key = res.stdout.strip()
    assert new_key != old_key and new_key.split("+")[0] == old_key.split("+")[0]
    res = audit(work, "key", "export", "--store", pg_store)
    assert res.stdout.split() == [new_key, old_key]
    res = audit(work, "verify", "--store", pg_store, "--checkpoint", str(held), "--key", old_key)
    assert res.returncode == 0, res.stdout + res.stderr
    bundle = tmp_path / "b.sqlite3"
    res = audit(work, "bundle", "-o", str(bundle), "--store", pg_store)
    assert res.returncode == 0, res.stdout + res.stderr
    res = audit(work, "verify", "--bundle", str(bundle), "--key", new_key, "--key", old_key)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 events, hash chain intact" in res.stdout
    assert list(work.iterdir()) == []
