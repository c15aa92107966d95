"""What ``deconflict serve`` runs for live tracks, and ``deconflict cert issue``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from deconflict.cli import worker
from deconflict.cli.child import Child
from deconflict.errors import InvalidInput
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.open import store_url
from deconflict.tracks import forward
from deconflict.tracks.certs import Authority
from deconflict.tracks.history import History, HistoryFile
from deconflict.tracks.http import mount
from deconflict.tracks.server import TakServer
from deconflict.tracks.tracker import Settings, Tracker

ENV_TRACKS = "DECONFLICT_SERVE_TRACKS"  # the tracks options, as JSON (the tracker process)
ENV_TRACKS_STORE = "DECONFLICT_SERVE_TRACKS_STORE"  # the store as given to serve (history and TLS beside it)
ENV_TRACKS_SOCKET = worker.ENV_TRACKS_SOCKET  # where the tracker process listens (workers forward)


def _port(value: int | None, name: str) -> int | None:
    if value is not None and not 0 <= value <= 65535:
        raise InvalidInput(name, "must be a port number (0-65535)")
    return value


@dataclass
class TracksOptions:
    tcp: int | None
    udp: int | None
    tls: int | None
    sbs: tuple[str, int] | None
    host: str
    settings: Settings = field(default_factory=Settings)
    server: TakServer | None = field(default=None)

    @classmethod
    def parse(cls, tcp: int | None, udp: int | None, tls: int | None, sbs: str | None, tracks: bool,
              host: str, history_hours: float = 6.0, history_every_s: float = 1.0, max_assets: int = 100_000,
              max_assets_per_party: int = 20_000) -> TracksOptions | None:
        if tcp is None and udp is None and tls is None and sbs is None and not tracks:
            return None
        source = None
        if sbs is not None:
            h, _, p = sbs.rpartition(":")
            if not h or not p.isdigit() or not 0 < int(p) <= 65535:
                raise InvalidInput("--sbs", f"give HOST:PORT, e.g. 127.0.0.1:30003, got {sbs!r}")
            source = (h, int(p))
        settings = Settings(history_s=history_hours * 3600.0, history_every_s=history_every_s,
                            max_assets=max_assets, max_assets_per_party=max_assets_per_party)
        try:
            settings.check()
        except InvalidInput as exc:
            name = {"history_s": "--track-history-hours", "history_every_s": "--track-history-every-s",
                    "max_assets": "--track-max-assets", "max_assets_per_party": "--track-max-assets-per-party"}
            raise InvalidInput(name.get(exc.field, exc.field), exc.reason) from None
        return cls(_port(tcp, "--cot-tcp"), _port(udp, "--cot-udp"), _port(tls, "--cot-tls"), source, host,
                   settings)

    def to_json(self) -> str:
        return json.dumps({"tcp": self.tcp, "udp": self.udp, "tls": self.tls, "sbs": self.sbs, "host": self.host,
                           "settings": {f.name: getattr(self.settings, f.name)
                                        for f in dataclasses.fields(self.settings)}})

    @classmethod
    def from_json(cls, text: str) -> TracksOptions:
        d = json.loads(text)
        sbs = d["sbs"]
        settings = Settings(**d["settings"])
        settings.check()
        return cls(d["tcp"], d["udp"], d["tls"], None if sbs is None else (sbs[0], int(sbs[1])), d["host"],
                   settings)

    def start(self, app: FastAPI, hotline: Hotline, store: Path) -> None:
        # Track history on file beside an SQLite store (<store>.tracks.sqlite3), in the
        # database of a PostgreSQL store (its migration 6).
        history: History
        if store_url(store) is None:
            history = HistoryFile(store.with_name(store.name + ".tracks.sqlite3"))
        else:
            from deconflict.store.postgres import PostgresStore
            from deconflict.tracks.history_pg import PgHistory

            pg_store = hotline.service.store
            if not isinstance(pg_store, PostgresStore):
                raise InvalidInput("--store", "a postgresql:// URL must open a PostgreSQL store")
            history = PgHistory(pg_store)
        tracker = Tracker(hotline, self.settings, history=history)
        ctx = Authority.beside(store).server_context(self.host) if self.tls is not None else None
        if any(x is not None for x in (self.tcp, self.udp, self.tls, self.sbs)):
            self.server = TakServer(tracker, host=self.host, tcp=self.tcp, udp=self.udp, tls=self.tls,
                                    tls_context=ctx, sbs=self.sbs)
            self.server.start()
        mount(app, tracker, stats=None if self.server is None else self.server.stats)

    def describe(self) -> str:
        ports = dict(self.server.ports) if self.server is not None else {}
        parts = [f"CoT {k} {v}" for k, v in sorted(ports.items())]
        if self.sbs:
            parts.append(f"SBS-1 from {self.sbs[0]}:{self.sbs[1]}")
        return ", ".join(parts) or "HTTP batch only (/v1/tracks/reports)"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def tracker_process(env: dict[str, str], log: Callable[[str], None]) -> Child:
    """The one tracker behind ``serve --workers N``: a process of its own
    (``deconflict.cli.tracker_process``, run as a child: cli/child.py), waited
    for until it answers, restarted when it ends."""
    return Child("deconflict.cli.tracker_process", "tracker", ENV_TRACKS_SOCKET, env, log, alive=forward.alive)


def issue_package(service: Deconflict, store: Path, party: str, member: str, role: Role, host: str,
                  port: int) -> tuple[str, bytes, str]:
    """(credential id, data package, PKCS#12 password)."""
    if role is Role.ADMIN:
        raise InvalidInput("--role", "a TAK client is a party's member, not an administrator")
    cred, _token = Hotline(service).issue_credential(None, party, member, role)
    package, password = Authority.beside(store).data_package(party, member, cred.id, host, port)
    return cred.id, package, password
