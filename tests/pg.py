"""PostgreSQL for the tests: one database of our own on the local cluster
(port 5432), created on first use with a ``dcf_i13_`` prefix and dropped at the
end of the session, and a fresh schema in it for each store a test opens.

A missing server is a failure, never a skip: the PostgreSQL variant of a test
is as much part of the suite as the SQLite one."""

from __future__ import annotations

import atexit
import os
import subprocess
import uuid

import psycopg

#: The local cluster (scripts/setup makes sure there is one).
ADMIN_URL = os.environ.get("DECONFLICT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

_database: list[str] = []  # this session's database, once made


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as db:
        db.execute(sql)


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def new_database() -> str:
    """A database of its own (dropped at exit); returns its name."""
    name = f"dcf_i13_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    atexit.register(drop_database, name)
    return name


def drop_database(name: str) -> None:
    try:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        subprocess.run(["dropdb", "--if-exists", "-f", "-h", "127.0.0.1", "-U", "postgres", name],
                       check=False, capture_output=True)


def fresh_url() -> str:
    """The URL of a new, empty schema in this session's database: a store of its own."""
    if not _database:
        _database.append(new_database())
    schema = f"s_{uuid.uuid4().hex[:12]}"
    url = database_url(_database[0])
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
        db.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}?options=-csearch_path%3D{schema}"
