"""A real server on loopback, with one authenticated client per party."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from deconflict.codecs.scenario import Scenario, load_scenario
from deconflict.service.auth import Role
from deconflict.service.client import Client
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import create_app
from deconflict.store.open import open_store
from tests.conftest import BUNDLED
from tests.pg import fresh_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[Any] | None = None, timeout: float = 30) -> None:
    """Until ``GET url/ready`` answers 200; fails at once if ``proc`` (the server) exits."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc is None or proc.poll() is None, f"the server exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.1)


@dataclass
class Running:
    url: str
    hotline: Hotline
    scenario: Scenario
    tokens: dict[str, dict[str, str]]  # party -> role -> token
    admin: str
    path: Path | str | None = None  # the store (a file or a URL), to restart a server on it
    app: Any = None  # the ASGI app (its state: the dry runs in flight, service/admission.py)
    tracker: Any = None  # live tracks (deconflict.tracks.tracker.Tracker), when started with them

    def as_admin(self) -> Client:
        return Client(self.url, self.admin)

    def client(self, party: str, role: str = "liaison") -> Client:
        return Client(self.url, self.tokens[party][role])


def start(store: Path | str, *, ack_deadline_s: float = 900.0, seed: bool | None = None,
          escalation_every: float = 0.2, web: bool = False, tiles: Sequence[Path] = (),
          tracks: bool = False) -> Iterator[Running]:
    """A server on ``store``. The scenario is loaded into a new store (``seed``
    None) and not into one that has parties already, so a test can stop a
    server and start another on the same file. Fresh tokens are issued either way."""
    from datetime import timedelta

    scenario = load_scenario(BUNDLED)
    service = Deconflict(open_store(store))
    if seed is None:
        seed = not service.parties()
    if seed:
        service.set_margins(scenario.margins)
        service.apply([Change(party=p) for p in scenario.parties]
                      + [Change(measure=m) for m in scenario.measures]
                      + [Change(declaration=d) for d in scenario.declarations])
    hotline = Hotline(service, ack_deadline=timedelta(seconds=ack_deadline_s))
    tokens: dict[str, dict[str, str]] = {}
    for p in scenario.parties:
        for role in (Role.VIEWER, Role.PLANNER, Role.LIAISON):
            tokens.setdefault(p.id, {})[role.value] = hotline.issue_credential(None, p.id, role.value, role)[1]
    admin = hotline.issue_credential(None, "", "root", Role.ADMIN)[1]
    port = free_port()
    app = create_app(hotline, escalation_every=escalation_every)
    tracker = None
    if tracks:  # live tracks over HTTP, as `deconflict serve --tracks` mounts them
        from deconflict.tracks.http import mount as mount_tracks
        from deconflict.tracks.tracker import Tracker

        tracker = Tracker(hotline)
        mount_tracks(app, tracker)
    if web:  # the map at / (deconflict.web), as `deconflict serve` mounts it, last
        from deconflict.web import mount

        mount(app, tiles=tiles)
    config = uvicorn.Config(app, host="127.0.0.1", port=port,
                            log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", hotline, scenario, tokens, admin, store, app, tracker)
    finally:
        hotline.close_streams()
        server.should_exit = True
        thread.join(10)
        service.close()


#: The service suite runs on both stores: an SQLite file and PostgreSQL (tests/pg.py).
STORES = ["sqlite", "postgresql"]


def new_store(kind: str, folder: Path) -> Path | str:
    return folder / "server.sqlite3" if kind == "sqlite" else fresh_url()


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def running(tmp_path: Path, store_kind: str) -> Iterator[Running]:
    yield from start(new_store(store_kind, tmp_path))


#: ``start`` as a context manager, for tests that start (and restart) their own servers.
started = contextmanager(start)


@pytest.fixture(scope="module", params=STORES)
def module_running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server for a whole module, for tests that only add objects with fresh ids.
    With the map mounted, as ``deconflict serve`` runs (it adds ``GET /v1/picture``)."""
    yield from start(new_store(str(request.param), tmp_path_factory.mktemp("module-server")), web=True)
