"""``deconflict audit`` given a PostgreSQL URL: it opens that store, or refuses
clearly what only the SQLite store keeps. It never creates an SQLite file named
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


@pytest.mark.parametrize("command", [["key", "export"], ["key", "rotate"], ["checkpoint"],
                                     ["bundle", "-o", "b.sqlite3"]])
def test_what_only_sqlite_keeps_is_refused_for_a_url(tmp_path: Path, pg_store: str, command: list[str]) -> None:
    res = audit(tmp_path, *command, "--store", pg_store)
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert "--store" in text and "SQLite store" in text, text
    assert "Traceback" not in text
    assert list(tmp_path.iterdir()) == []
