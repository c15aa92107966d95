"""Read your writes across two workers on one store (issue 9): a response
carries the log sequence number, and the other worker, given it back, answers
only once it has caught up (it answered 404 for one's own declaration)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from deconflict.model import Party
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import create_app
from deconflict.store.sqlite import SQLiteStore
from tests.service.conftest import free_port

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}


@contextmanager
def serve(hotline: Hotline) -> Iterator[str]:
    # The follower thread looks only once an hour: only the header makes this worker catch up.
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hotline, follow_every=3600.0), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_write_on_one_worker_is_read_on_the_other_given_its_seq(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Deconflict(SQLiteStore(path)) as first:
        first.add_party(Party("p1", "p1"))
    a, b = Hotline(Deconflict(SQLiteStore(path))), Hotline(Deconflict(SQLiteStore(path)))
    token = a.issue_credential(None, "p1", "planner", Role.PLANNER)[1]
    b.catch_up()  # b knows the credential
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with serve(a) as url_a, serve(b) as url_b:
            r = httpx.post(f"{url_a}/v1/activities", headers=headers, json={"activity": {
                "kind": "site", "id": "mine", "category": "forces", "protection_m": 100, "window": WINDOW,
                "geometry": {"type": "Point", "coordinates": [40.0, 35.0]}}})
            assert r.status_code == 201
            seq = int(r.headers["x-deconflict-seq"])
            assert seq > 0
            read = httpx.get(f"{url_b}/v1/declarations/mine", headers={**headers, "X-Deconflict-Seq": str(seq)})
            assert read.status_code == 200, read.text
            assert int(read.headers["x-deconflict-seq"]) >= seq
            bad = httpx.get(f"{url_b}/v1/declarations/mine", headers={**headers, "X-Deconflict-Seq": "soon"})
            assert bad.status_code == 422 and bad.json()["field"] == "X-Deconflict-Seq"
    finally:
        for h in (a, b):
            h.stop_committer()
            h.service.close()
