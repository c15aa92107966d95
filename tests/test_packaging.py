"""A wheel and an sdist built from a clean clone carry the built map, the LICENSE
and the vendored Swagger UI; the wheel installed into a fresh virtual environment
serves the map with `deconflict serve`.

Offline as every test is: the clone is of this repository's HEAD (commit first),
npm reads its cache only (scripts/setup's `npm ci` filled it), the build uses
this environment's setuptools (no isolated build environment to download), and
the wheel is installed without its dependencies, which the fresh environment
takes from this one through a .pth file. The package itself comes from the
wheel: the test checks where it was imported from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.service.conftest import free_port, wait_ready

MAP_FILES = ("web/static/index.html", "web/static/app.js", "web/static/vendor/manifest.json",
             "web/static/vendor/swagger-ui/swagger-ui-bundle.js", "web/static/vendor/swagger-ui/swagger-ui.css")


def sh(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    assert res.returncode == 0, f"{cmd}: {res.stdout[-2000:]}\n{res.stderr[-4000:]}"
    return res.stdout


def test_a_wheel_from_a_clean_clone_serves_the_map(tmp_path: Path) -> None:
    clone, dist, venv = tmp_path / "clone", tmp_path / "dist", tmp_path / "venv"
    sh("git", "clone", "--quiet", ROOT, clone)
    assert not (clone / "src/deconflict/web/static").exists()  # nothing built in a clean clone
    env = {**os.environ, "npm_config_offline": "true"}
    env.pop("DECONFLICT_SKIP_MAP_BUILD", None)
    sh(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, clone, env=env)
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for f in MAP_FILES:
        assert f"deconflict/{f}" in names, f
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    with tarfile.open(sdist) as t:
        members = set(t.getnames())
    top = sdist.name.removesuffix(".tar.gz")
    assert f"{top}/LICENSE" in members and f"{top}/src/deconflict/web/static/index.html" in members

    sh(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    sh(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    site = sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    (Path(site) / "deconflict-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = sh(python, "-c", "import deconflict; print(deconflict.__file__)").strip()
    assert where.startswith(str(venv)), where  # the wheel's package, not this checkout's

    port = free_port()
    proc = subprocess.Popen([str(venv / "bin" / "deconflict"), "serve", "--port", str(port),
                             "--store", str(tmp_path / "s.sqlite3")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "app.js" in page.text
        assert httpx.get(f"{url}/vendor/manifest.json").status_code == 200
        docs = httpx.get(f"{url}/docs")
        assert docs.status_code == 200 and "/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
        assert httpx.get(f"{url}/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
