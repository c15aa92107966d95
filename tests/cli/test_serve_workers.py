"""`deconflict serve --workers 2` as real processes: two workers on one store.

Acceptance stays serialisable across the workers (a race of conflicting submits
accepts no two that conflict), both workers take requests, a SIGTERM loses no
acknowledged change, a credential issued by the CLI meanwhile is known to every
worker without a restart, and an Idempotency-Key holds across workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench.http_load import tree

from deconflict import Engine, Party
from deconflict.model import Declaration, FindingKind
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore
from tests.cli.test_app import run
from tests.service.conftest import free_port, wait_ready

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
PARTIES = ["p1", "p2", "p3", "p4"]
SITE_PARTIES, FIRE_PARTIES = PARTIES[:2], PARTIES[2:]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    store: Path
    log: Path

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit code (the process is killed if it does not end in ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in reversed(tree(self.proc.pid)):  # the workers too, not to leak them
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(10)
            raise AssertionError(f"serve did not stop within {timeout} s of SIGTERM: {self.errors()}") from None

    def errors(self) -> str:
        return self.log.read_text(errors="replace")


def add_party(store: Path, party: str) -> str:
    res = run("party", "add", party, "--role", "planner", store=store)
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip()
    assert token.startswith("dcf_"), res.stdout
    return token


@contextmanager
def serving(tmp_path: Path, store: Path, workers: int = 2) -> Iterator[Server]:
    """``deconflict serve --workers N`` on ``store``, ready; always stopped at the end."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    env = {**os.environ}
    env.pop("DECONFLICT_DEBUG", None)
    # The server's output goes to a file: a pipe nobody reads could fill and block it.
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store),
             "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=err, env=env,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", store, log)
    try:
        try:
            wait_ready(server.url, proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {server.errors()}") from None
        yield server
    finally:
        server.stop()


def fresh_client(**kw: Any) -> httpx.Client:
    """A client that opens a new connection for every request, so the kernel
    hands each to whichever worker accepts it first."""
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=30, **kw)


# -- processes, from /proc ---------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    # Fields after "(comm)", which may itself hold spaces or parentheses: [0] is
    # field 3 (state), so the ppid (field 4) is [1], utime/stime (14, 15) are [11], [12].
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def worker_cpu(server_pid: int) -> dict[int, int]:
    """CPU ticks (user + system) of each python descendant of the server that may
    be a worker: not the resource tracker of multiprocessing."""
    out = {}
    for pid in tree(server_pid)[1:]:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = _stat(pid)
        except OSError:
            continue
        if "python" in cmd and "resource_tracker" not in cmd:
            out[pid] = int(fields[11]) + int(fields[12])
    return out


# -- activities --------------------------------------------------------------------------
def hotspot(i: int) -> tuple[str, dict[str, Any]]:
    """Patrols (movements of forces) of p1/p2 and fires of p3/p4, all within about 1 km: they conflict.

    Every 12 consecutive requests share one day (a day apart from the next
    dozen's), so each dozen is a race of its own: the 24 clients send it at
    once, and whichever of its sites and fires is decided first refuses the
    others, whichever worker decides it."""
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=2 * (i // 12))
    window = {"start": f"{start:%Y-%m-%dT%H:%M:%SZ}", "end": f"{start + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"}
    lon = 40.0 + (i * 7919 % 97) / 97 * 0.008  # ~0.7 km east-west at 35 N
    lat = 35.0 + (i * 104729 % 89) / 89 * 0.006  # ~0.65 km north-south
    if i % 2:
        party = SITE_PARTIES[(i // 2) % 2]
        # A patrol on the spot, not a site: presence is never refused (issue 8).
        return party, {"kind": "movement", "id": f"{party}:h{i}", "half_width_m": 500, "window": window,
                       "geometry": {"type": "LineString", "coordinates": [[lon - 1e-6, lat], [lon + 1e-6, lat]]}}
    party = FIRE_PARTIES[(i // 2) % 2]
    return party, {"kind": "fire", "id": f"{party}:h{i}", "effects_radius_m": 300,
                   "target": {"type": "Point", "coordinates": [lon, lat]}, "window": window}


def double_acceptances(accepted: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every accepted activity re-checked against all the others accepted: the
    ids of those with a conflict or violation among them (as bench/http_load.py)."""
    return conflicting([decode_declaration(a, "a", owner=party, default_id=a["id"]) for party, a in accepted])


def conflicting(decls: list[Declaration]) -> list[str]:
    engine = Engine()
    for p in PARTIES:
        engine.add_party(Party(p, p))
    for d in decls:
        engine.add_declaration(d)
    return [d.id for d in decls
            if any(f.kind in (FindingKind.CONFLICT, FindingKind.VIOLATION) for f in engine.check(d).findings)]


def in_parallel(n: int, job: Callable[[int], Any]) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(job, range(n)))


# -- the tests ---------------------------------------------------------------------------
def test_a_race_across_two_workers_accepts_no_conflict_and_a_sigterm_loses_nothing(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    tokens = {p: add_party(store, p) for p in PARTIES}
    n_clients, n_requests = 24, 360
    with serving(tmp_path, store) as server:
        before = worker_cpu(server.proc.pid)
        assert len(before) >= 2, f"expected two worker processes under serve, found {before}"
        next_i = iter(range(n_requests))
        lock = threading.Lock()
        statuses: dict[int, int] = {}
        accepted: list[tuple[str, dict[str, Any]]] = []
        failures: list[str] = []

        def client(_c: int) -> None:
            with fresh_client() as http:
                while True:
                    with lock:
                        i = next(next_i, None)
                    if i is None:
                        return
                    party, activity = hotspot(i)
                    try:
                        r = http.post(f"{server.url}/v1/activities", json={"activity": activity},
                                      headers={"Authorization": f"Bearer {tokens[party]}"})
                    except httpx.TransportError as exc:
                        with lock:
                            failures.append(f"{activity['id']}: {exc!r}")
                        continue
                    with lock:
                        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                        if r.status_code == 201:
                            assert r.json()["id"] == activity["id"]
                            accepted.append((party, activity))
                        elif r.status_code != 409:
                            failures.append(f"{activity['id']}: {r.status_code} {r.text[:300]}")

        t0 = time.monotonic()
        in_parallel(n_clients, client)
        load_s = time.monotonic() - t0
        after = worker_cpu(server.proc.pid)
        busy = {pid: after[pid] - before[pid] for pid in before.keys() & after.keys() if after[pid] > before[pid]}
        assert not failures, f"{len(failures)} requests failed, e.g. {failures[:5]}; statuses {statuses}"
        assert sum(statuses.values()) == n_requests
        assert not any(code >= 500 for code in statuses), statuses
        # Each dozen (a day of its own) has a first decision, which nothing refuses.
        assert len({a["window"]["start"] for _p, a in accepted}) == n_requests // 12, statuses
        assert statuses.get(409, 0) >= n_requests // 4, statuses
        assert double_acceptances(accepted) == [], f"accepted over a conflict (statuses {statuses})"
        assert len(busy) >= 2, (f"only {busy} of the workers {sorted(before)} used CPU "
                                f"during {n_requests} requests in {load_s:.1f} s")
        # Graceful shutdown: SIGTERM, exit 0, and every 201 is in the store.
        code = server.stop()
        assert code == 0, server.errors()
        assert "every acknowledged change is in the store" in server.errors()
    verify = run("audit", "verify", store=store)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with SQLiteStore(store) as st:
        assert st.count_declarations() == len(accepted) == statuses[201]
        stored = list(st.declarations())
    assert {d.id for d in stored} == {a["id"] for _p, a in accepted}
    assert conflicting(stored) == [], "the store holds declarations in conflict"


def test_a_credential_issued_by_the_cli_works_on_every_worker_without_a_restart(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    first = add_party(store, "p1")
    with serving(tmp_path, store) as server, fresh_client() as http:
        assert http.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 200
        token = add_party(store, "late")  # while the server runs
        issued = time.monotonic()
        headers = {"Authorization": f"Bearer {token}"}

        def me(_i: int = 0) -> int:
            with fresh_client() as fresh:
                return fresh.get(f"{server.url}/v1/me", headers=headers).status_code

        while (code := me()) != 200:
            assert code == 401, code
            assert time.monotonic() - issued < 3, "the new credential was not accepted within 3 s"
            time.sleep(0.05)
        # Every worker's follower catches up every 0.1 s: by half a second after
        # the CLI returned, whichever worker takes a connection knows the credential.
        time.sleep(max(0.0, issued + 0.5 - time.monotonic()))
        codes = [me() for _ in range(12)] + in_parallel(12, me)
        assert codes == [200] * 24, f"some worker did not know the new credential: {codes}"
        assert time.monotonic() - issued < 5
        r = http.get(f"{server.url}/v1/me", headers=headers)
        assert r.json()["party"] == "late", r.text
        assert server.stop() == 0, server.errors()


def test_one_idempotency_key_sent_to_both_workers_at_once_accepts_once(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    token = add_party(store, "p1")
    # The id in p1's namespace (service/namespace.py), as the answers name it.
    site = {"kind": "site", "id": "p1:idem-1", "category": "forces", "protection_m": 200,
            "geometry": {"type": "Point", "coordinates": [41.0, 36.0]}, "window": WINDOW}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "once-only"}
    n = 10
    with serving(tmp_path, store) as server:
        start = threading.Barrier(n)

        def submit(_i: int) -> httpx.Response:
            with fresh_client() as http:
                start.wait()
                return http.post(f"{server.url}/v1/activities", json={"activity": site}, headers=headers)

        responses = in_parallel(n, submit)
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * (n - 1) + [201], [(r.status_code, r.text[:200]) for r in responses]
        assert {r.json()["id"] for r in responses} == {"p1:idem-1"}
        first = next(r for r in responses if r.status_code == 201).json()
        assert all(r.json() == first for r in responses), "a replay answered differently from the first"
        assert server.stop() == 0, server.errors()
    with SQLiteStore(store) as st:
        assert [d.id for d in st.declarations()] == ["p1:idem-1"]
        accepted = [e for e in st.events() if e.type == "activity.accepted"]
        assert [e.subject for e in accepted] == ["p1:idem-1"], "accepted more than once"
    assert run("audit", "verify", store=store).returncode == 0
