"""KML export speed, A/B in one run: this tree's codecs/kml.py against another
commit's (default e421443, the first server-side KML), alternated round by round
on the same declarations of the synthetic theatre, in one process.

Usage: python bench/kml_ab.py [--baseline e421443] [--declarations 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # beside this file (run as a script)

from deconflict.codecs import kml

ROOT = Path(__file__).resolve().parents[1]


def baseline(commit: str, folder: Path) -> ModuleType:
    """The commit's kml.py, importing that commit's outline.py in place of this tree's."""
    for name in ("kml", "outline"):
        text = subprocess.run(["git", "show", f"{commit}:src/deconflict/codecs/{name}.py"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        text = text.replace("from deconflict.codecs import outline", "import baseline_outline as outline")
        (folder / f"baseline_{name}.py").write_text(text)
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("baseline_kml", folder / "baseline_kml.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default="e421443")
    ap.add_argument("--declarations", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    decls = synth.Theatre(1).declarations(args.declarations)
    measures = synth.measures()
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline(args.baseline, Path(tmp))
        times: dict[str, list[float]] = {"A": [], "B": []}
        sizes = {}
        for _ in range(args.rounds):
            for label, module in (("A", old), ("B", kml)):
                t0 = time.perf_counter()
                body = module.document(measures, decls)
                times[label].append(time.perf_counter() - t0)
                sizes[label] = len(body)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"{args.declarations:,} declarations, {args.rounds} rounds alternated, load average {load}")
    print("| | kml.document median s | min s | body |")
    print("|---|---:|---:|---:|")
    for label, name in (("A", f"A: {args.baseline}"), ("B", "B: this tree")):
        print(f"| {name} | {statistics.median(times[label]):.2f} | {min(times[label]):.2f} | "
              f"{sizes[label] / 2**20:.1f} MiB |")


if __name__ == "__main__":
    main()
