"""The build hook: every wheel and sdist carries the built map.

The map's sources are in ``web/`` (a git checkout); ``web/build.mjs`` copies
them and the vendored npm files into ``src/deconflict/web/static``, which the
package serves at ``/`` (and ``/docs`` takes Swagger UI from). Building a
wheel or an sdist from a checkout runs ``npm ci`` (when ``web/node_modules``
is missing) and the build first, so a package from a clean clone has the map.
An sdist carries the built files and not ``web/``, so a wheel built from it
needs no Node.js. ``DECONFLICT_SKIP_MAP_BUILD=1`` builds without the map (its
``/`` then answers 503); an editable install leaves the map to scripts/setup.
Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
STATIC = ROOT / "src" / "deconflict" / "web" / "static"


def build_map() -> None:
    if os.environ.get("DECONFLICT_SKIP_MAP_BUILD") == "1":
        return
    if not (WEB / "build.mjs").is_file():
        if (STATIC / "index.html").is_file() and (STATIC / "vendor" / "manifest.json").is_file():
            return  # an sdist: built when it was made
        raise SystemExit("deconflict: neither web/ (the map's sources) nor the built map is here; "
                         "build from a git checkout or an sdist, or set DECONFLICT_SKIP_MAP_BUILD=1")
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit("deconflict: building the map needs Node.js 18+ and npm (scripts/setup installs them), "
                         "or set DECONFLICT_SKIP_MAP_BUILD=1 to build without the map")
    if not (WEB / "node_modules").is_dir():
        # --ignore-scripts: the vendored packages need no install scripts (and
        # one would send telemetry).
        subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=WEB, check=True)
    subprocess.run([node, str(WEB / "build.mjs")], cwd=ROOT, check=True)


class BuildPyWithMap(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            build_map()
        super().run()


class SdistWithMap(sdist):
    def run(self) -> None:
        build_map()
        super().run()


setup(cmdclass={"build_py": BuildPyWithMap, "sdist": SdistWithMap})
