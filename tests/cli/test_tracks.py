"""`deconflict serve --cot-tcp ... --cot-tls ...` and `deconflict cert issue`, as real processes."""

from __future__ import annotations

import io
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from deconflict.cli.tracks import TracksOptions
from deconflict.codecs import cot
from deconflict.codecs.scenario import load_into, load_scenario
from deconflict.errors import InvalidInput
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.sqlite import SQLiteStore
from tests.cli.test_app import run
from tests.conftest import BUNDLED
from tests.service.conftest import free_port, wait_ready

T = datetime(2018, 2, 7, 20, 0, tzinfo=UTC)


def _read_until(sock: socket.socket, needle: bytes, limit_s: float = 20.0) -> bytes:
    sock.settimeout(0.5)
    got = b""
    deadline = time.monotonic() + limit_s
    while needle not in got:
        assert time.monotonic() < deadline, f"no {needle!r} in {got[-300:]!r}"
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        assert chunk, "closed"
        got += chunk
    return got


def test_serve_with_cot_over_tcp_and_tls(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    with Deconflict(SQLiteStore(store)) as service:  # the scenario, seeded in-process (quicker than the CLI)
        load_into(service, load_scenario(BUNDLED))
        token = Hotline(service).issue_credential(None, "regime", "col", Role.PLANNER)[1]
    package = tmp_path / "pkg.zip"
    res = run("cert", "issue", "regime", "--member", "cmdr", "--port", "1", "-o", str(package), store=store)
    assert res.returncode == 0, res.stderr
    password = res.stdout.strip()
    z = zipfile.ZipFile(io.BytesIO(package.read_bytes()))
    assert "MANIFEST/manifest.xml" in z.namelist() and "cert/cmdr.p12" in z.namelist()
    key, cert, _extra = pkcs12.load_key_and_certificates(z.read("cert/cmdr.p12"), password.encode())
    assert key is not None and cert is not None
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    port, tcp, tls = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store", str(store),
         "--cot-tcp", str(tcp), "--cot-tls", str(tls)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(cot.event_xml(cot.position("cli-col", "a-h-G", 40.321, 35.361, T, token=token)))
            assert b"dcf.alert." in _read_until(s, b'type="b-a-g"')
        ctx = ssl.create_default_context(cafile=str(store.with_name(store.name + ".tak") / "ca.pem"))
        ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls)), server_hostname="127.0.0.1") as t:
            t.sendall(cot.event_xml(cot.position("cli-tls", "a-h-G", 40.321, 35.361, T)))
            _read_until(t, b'type="b-a-g"')
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, errors = proc.communicate(timeout=30)
    assert proc.returncode == 0, errors
    assert "live tracks: CoT tcp" in errors
    with SQLiteStore(store) as st:
        assert st.verify() > 0
    # The track history, on file beside the store: who was where survives the server.
    from deconflict.tracks.history import HistoryFile

    history = HistoryFile(store.with_name(store.name + ".tracks.sqlite3"))
    assert {p.uid for p in history.points(None, T - timedelta(days=1), T + timedelta(days=1), 100)} >= {"cli-col"}
    history.close()


def test_track_options_are_checked() -> None:
    with pytest.raises(InvalidInput, match="HOST:PORT"):
        TracksOptions.parse(None, None, None, "nowhere", False, "127.0.0.1")
    with pytest.raises(InvalidInput, match="port number"):
        TracksOptions.parse(70000, None, None, None, False, "127.0.0.1")
    assert TracksOptions.parse(None, None, None, None, False, "127.0.0.1") is None
    opts = TracksOptions.parse(None, None, None, "127.0.0.1:30003", False, "127.0.0.1")
    assert opts is not None and opts.sbs == ("127.0.0.1", 30003)
    with pytest.raises(InvalidInput, match="--track-history-hours"):
        TracksOptions.parse(None, None, None, None, True, "127.0.0.1", -1.0)
    with pytest.raises(InvalidInput, match="--track-history-every-s"):
        TracksOptions.parse(None, None, None, None, True, "127.0.0.1", 6.0, 0.0)
    opts = TracksOptions.parse(None, None, None, None, True, "127.0.0.1", 0.5, 10.0)
    assert opts is not None and (opts.settings.history_s, opts.settings.history_every_s) == (1800.0, 10.0)
