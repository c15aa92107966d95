"""`deconflict serve --store postgresql://...` as real processes, through failures.

Each test counts lost submits (acknowledged with 201 but not in the log) and
doubly accepted ones (declared twice in the log); both must be 0:

- two service processes on one database, one SIGKILLed during a burst: the
  other keeps serving, and a client retrying there with the same
  Idempotency-Key is told of the first acceptance, never accepted twice;
- the database restarted mid-run: clients get retryable 503 problems in
  between, never a 5xx without a problem body, and the service recovers;
- failover: a primary and a synchronous standby (remote_apply) made by the test,
  the primary SIGKILLed during a burst and the standby promoted; the service,
  on a multi-host URL with target_session_attrs=read-write, resumes on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench.http_load import tree

from deconflict.store.postgres import PostgresStore
from tests.pg import fresh_url
from tests.pgcluster import make_primary, make_standby, remove
from tests.service.conftest import free_port, wait_ready

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
PARTIES = ["p1", "p2"]
#: How long a client keeps retrying one submit through an outage.
RETRY_FOR_S = 90.0


def site(i: int) -> dict[str, Any]:
    # Sites 2 km apart with 200 m protection: each submit should be accepted.
    return {"kind": "site", "id": f"s{i}", "category": "forces", "protection_m": 200,
            "geometry": {"type": "Point", "coordinates": [30.0 + (i % 100) * 0.025, 20.0 + (i // 100) * 0.02]},
            "window": WINDOW}


def cli(*args: str) -> str:
    env = {**os.environ}
    env.pop("DECONFLICT_DEBUG", None)
    res = subprocess.run([sys.executable, "-m", "deconflict.cli.app", *args], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        for pid in tree(self.proc.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)


@contextmanager
def serving(tmp_path: Path, store: str) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port),
                                 "--store", store], stdout=subprocess.DEVNULL, stderr=err)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(server.url, proc, timeout=60)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


@dataclass
class Tally:
    acknowledged: set[str] = field(default_factory=set)
    refused: Counter[int] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # a 5xx that is not a retryable problem
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit_until_answered(urls: Callable[[], list[str]], token: str, i: int, tally: Tally) -> None:
    """One submit, retried (same Idempotency-Key, next server) through 503s and
    broken connections until it is answered, as a careful client would."""
    body = {"activity": site(i)}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k{i}"}
    deadline = time.monotonic() + RETRY_FOR_S
    attempt = 0
    while time.monotonic() < deadline:
        targets = urls()
        url = targets[attempt % len(targets)]
        attempt += 1
        try:
            r = httpx.post(f"{url}/v1/activities", json=body, headers=headers, timeout=60)
        except httpx.TransportError as exc:
            with tally.lock:
                tally.retried[type(exc).__name__] += 1
            time.sleep(0.1)
            continue
        if r.status_code >= 500:
            ctype = r.headers.get("content-type", "")
            with tally.lock:
                if r.status_code != 503 or not ctype.startswith("application/problem+json"):
                    tally.bad.append(f"{r.status_code} {ctype} {r.text[:200]}")
                tally.retried[str(r.status_code)] += 1
            time.sleep(0.1)
            continue
        with tally.lock:
            # 200: a retry replayed with the first answer (the killed process had
            # accepted it and died before answering): acknowledged all the same.
            if r.status_code == 201 or (r.status_code == 200 and r.json().get("accepted") is True):
                tally.acknowledged.add(r.json()["id"])  # in the party's namespace (service/namespace.py)
            else:
                tally.refused[r.status_code] += 1
        return
    with tally.lock:
        tally.bad.append(f"s{i}: not answered within {RETRY_FOR_S} s")


def burst(urls: Callable[[], list[str]], tokens: list[str], ids: range, tally: Tally,
          at: int, event: Callable[[], None]) -> None:
    """Submits ``ids`` from 8 clients; ``event`` runs once ``at`` of them are answered."""
    answered = 0
    fired = threading.Event()
    gate = threading.Lock()

    def one(i: int) -> None:
        nonlocal answered
        submit_until_answered(urls, tokens[i % len(tokens)], i, tally)
        with gate:
            answered += 1
            go = answered >= at and not fired.is_set()
            if go:
                fired.set()
        if go:
            event()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, ids))


def count_in_log(url: str) -> tuple[set[str], int]:
    """The declarations in force and how many ids were declared more than once."""
    with PostgresStore(url) as store:
        assert store.verify() > 0
        declared = Counter(e.subject for e in store.events() if e.type == "declaration.declared")
        in_force = {d.id for d in store.declarations()}
    return in_force, sum(1 for n in declared.values() if n > 1)


def tokens_for(store: str) -> list[str]:
    return [cli("party", "add", p, "--role", "planner", "--store", store) for p in PARTIES]


def test_a_process_killed_during_a_burst_loses_nothing_and_the_other_keeps_serving(tmp_path: Path) -> None:
    store = fresh_url()
    tokens = tokens_for(store)
    tally = Tally()
    with serving(tmp_path, store) as a, serving(tmp_path, store) as b:
        alive = [a.url, b.url]

        def kill_a() -> None:
            a.kill()
            alive.remove(a.url)

        burst(lambda: list(alive), tokens, range(80), tally, at=25, event=kill_a)
        assert a.proc.poll() is not None
        # The other keeps serving.
        r = httpx.post(f"{b.url}/v1/activities", json={"activity": site(999)},
                       headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30)
        assert r.status_code == 201, r.text
    in_force, doubled = count_in_log(store)
    lost = tally.acknowledged - in_force
    assert (len(lost), doubled) == (0, 0), (sorted(lost), doubled)
    assert not tally.bad, tally.bad
    assert len(tally.acknowledged) == 80, tally  # every submit answered, the killed one's on the other


def test_a_database_restart_mid_run_gives_retryable_problems_then_recovers(tmp_path: Path) -> None:
    cluster = make_primary()
    try:
        store = cluster.url
        tokens = tokens_for(store)
        tally = Tally()
        with serving(tmp_path, store) as s:
            burst(lambda: [s.url], tokens, range(60), tally, at=20, event=cluster.restart)
            assert s.proc.poll() is None
        in_force, doubled = count_in_log(store)
        lost = tally.acknowledged - in_force
        assert (len(lost), doubled) == (0, 0), (sorted(lost), doubled)
        assert not tally.bad, tally.bad  # never a 5xx without a problem body
        assert len(tally.acknowledged) == 60, tally
    finally:
        remove(cluster)


def test_failover_to_a_synchronous_standby_loses_no_acknowledged_submit(tmp_path: Path) -> None:
    primary = make_primary(synchronous_standby="standby1")
    standby = make_standby(primary, "standby1")  # returns once it is the synchronous one
    try:
        assert primary.sql("SELECT sync_state FROM pg_stat_replication") == [("sync",)]
        store = (f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/postgres"
                 "?target_session_attrs=read-write&connect_timeout=3")
        tokens = tokens_for(store)
        tally = Tally()

        def fail_over() -> None:
            primary.kill()
            standby.promote()
            # The new primary has no standby yet: without this its commits would wait
            # for one for ever (Patroni's synchronous_mode does the same, docs/store.md).
            standby.sql("ALTER SYSTEM SET synchronous_standby_names TO ''")
            standby.sql("SELECT pg_reload_conf()")

        with serving(tmp_path, store) as s:
            burst(lambda: [s.url], tokens, range(60), tally, at=20, event=fail_over)
            assert s.proc.poll() is None
        in_force, doubled = count_in_log(standby.url)
        lost = tally.acknowledged - in_force
        assert (len(lost), doubled) == (0, 0), (sorted(lost), doubled)
        assert not tally.bad, tally.bad
        assert len(tally.acknowledged) == 60, tally
    finally:
        remove(primary, standby)
