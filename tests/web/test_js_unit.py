"""The map's JavaScript unit tests (node's built-in runner), run by pytest so CI runs them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

WEB = ROOT / "web"


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: scripts/setup needs Node.js (>= 18) for the map")
    tests = sorted(str(p.relative_to(WEB)) for p in (WEB / "test").glob("*.test.js"))
    assert len(tests) >= 6, tests
    out = subprocess.run([node, "--test", *tests], cwd=WEB, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout, out.stdout[-2000:]
