"""Shared fixtures: paths to the scenarios, a fresh store, a CLI runner."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "deconflict" / "data" / "euphrates-2018.json"
SHARED = ROOT.parent / "shared" / "scenarios" / "euphrates-2018.json"


def pytest_configure(config: pytest.Config) -> None:
    """The user's data folder is the session's own: the PostgreSQL store keeps a
    host's copy of each log's key file there (store/_pg_merkle.py), and a test
    run must not leave keys in the real one. Subprocesses inherit it."""
    folder = tempfile.mkdtemp(prefix="dcf-test-data-")
    os.environ["XDG_DATA_HOME"] = folder
    atexit.register(shutil.rmtree, folder, True)


def pytest_report_header() -> list[str]:
    import numpy
    import pyproj
    import shapely

    return [f"numpy {numpy.__version__}, pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str}), "
            f"shapely {shapely.__version__}"]


@pytest.fixture
def euphrates() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLED.read_text())
    return data


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"
