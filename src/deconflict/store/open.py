"""Which store a ``--store`` names: a ``postgresql://`` URL opens the shared
PostgreSQL store, anything else is the path of an SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore

#: A URL that went through ``pathlib.Path`` (the CLI's option type) lost one of
#: its two slashes: ``postgresql:/host/db``. Recognised and mended.
_MANGLED = re.compile(r"^(postgres(?:ql)?):/(?!/)")


def store_url(spec: str | Path | None) -> str | None:
    """The PostgreSQL URL ``spec`` names, or None when it names a file."""
    if spec is None:
        return None
    text = str(spec)
    if text.startswith(("postgresql://", "postgres://")):
        return text
    if _MANGLED.match(text):
        return _MANGLED.sub(r"\1://", text, count=1)
    return None


def open_store(spec: str | Path | None) -> Store:
    """Open the store ``spec`` names (the default SQLite file when None)."""
    url = store_url(spec)
    if url is not None:
        from deconflict.store.postgres import PostgresStore

        return PostgresStore(url)
    return SQLiteStore(Path(spec) if spec is not None else SQLiteStore.default_path())
