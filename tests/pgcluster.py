"""PostgreSQL clusters a test makes for itself: initdb, pg_ctl and pg_basebackup
run as the postgres user (``runuser -u postgres``) on free ports in a temporary
folder, so that a test may restart, kill or fail over its own database without
touching the machine's cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from bench.http_load import tree

from tests.service.conftest import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _bin(name: str) -> str:
    found = BIN / name
    if found.is_file():
        return str(found)
    path = shutil.which(name)
    assert path is not None, f"{name} not found: scripts/setup installs PostgreSQL"
    return path


def as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)


@dataclass
class Cluster:
    data: Path
    port: int
    log: Path
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                    "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}", "start")

    def stop(self, mode: str = "fast") -> None:
        as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60",
                    "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}", "restart")

    def kill(self) -> None:
        """SIGKILL the postmaster (its backends follow, as after a host dies)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        for p in tree(pid):  # the postmaster first, then its backends, by id
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)

    def promote(self) -> None:
        as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote")

    def sql(self, statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as db:
            cur = db.execute(statement)
            return cur.fetchall() if cur.description else []


def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="dcf_i13_cluster_"))
    folder.chmod(0o755)
    shutil.chown(folder, "postgres", "postgres")
    return folder


def make_primary(*, synchronous_standby: str | None = None) -> Cluster:
    folder = _folder()
    data = folder / "primary"
    as_postgres(_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
    conf = ["wal_level = replica", "max_wal_senders = 4", "hot_standby = on", "fsync = on",
            "shared_buffers = 32MB", "max_connections = 40"]
    if synchronous_standby:
        conf += [f"synchronous_standby_names = '{synchronous_standby}'", "synchronous_commit = remote_apply"]
    with (data / "postgresql.conf").open("a") as f:
        f.write("\n".join(conf) + "\n")
    with (data / "pg_hba.conf").open("a") as f:
        f.write("host replication all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n")
    cluster = Cluster(data, free_port(), folder / "primary.log")
    cluster.start()
    return cluster


def make_standby(primary: Cluster, name: str) -> Cluster:
    """A streaming standby of ``primary`` (pg_basebackup -R), known as ``name``."""
    data = primary.data.parent / name
    as_postgres(_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-D", str(data), "-R", "-X", "stream", "--no-sync")
    with (data / "postgresql.auto.conf").open("a") as f:
        f.write(f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=postgres "
                f"application_name={name}'\n")
    cluster = Cluster(data, free_port(), primary.data.parent / f"{name}.log")
    cluster.start()
    deadline = time.monotonic() + 60
    while primary.sql(f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'") != [
            ("sync",)]:
        assert time.monotonic() < deadline, f"{name} did not become a synchronous standby"
        time.sleep(0.1)
    return cluster


def remove(*clusters: Cluster) -> None:
    for c in clusters:
        c.stop("immediate")
    if clusters:
        shutil.rmtree(clusters[0].data.parent, ignore_errors=True)
