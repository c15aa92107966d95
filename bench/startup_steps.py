"""Where one snapshot start's seconds go: wall and CPU per step, the steps' functions
wrapped with timers (the store's read of the snapshot, its verification, the engine's
adoption of the arrays, the tail's vouch, the hotline's section).

Usage: PYTHONPATH=src python bench/startup_steps.py STORE [cprofile]
(STORE: an SQLite path or a PostgreSQL URL whose snapshot this code wrote or re-signed,
bench/snapshot_ab.py; on PostgreSQL give DECONFLICT_LOG_KEYS as the store's processes do.)
"""
import functools
import sys
import time
from pathlib import Path

from deconflict.service import deconflict as dmod
from deconflict.service import startup as sstart
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store import postgres, sqlite, startup
from deconflict.store.open import open_store

T = {}
def wrap(obj, name, label):
    f = getattr(obj, name)
    @functools.wraps(f)
    def g(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return f(*a, **k)
        finally:
            w, cc = T.get(label, (0, 0))
            T[label] = (w + time.perf_counter() - t, cc + time.process_time() - c)
    setattr(obj, name, g)
wrap(postgres.PostgresStore, "startup_buffer", "startup_buffer")
wrap(sqlite.SQLiteStore, "startup_buffer", "startup_buffer")
wrap(startup, "read_chunks", "  read_chunks(spool)")
wrap(startup, "load", "load")
wrap(startup, "_restored", "  _restored")
wrap(startup, "_check_event", "  _check_event")
wrap(startup, "engine_of", "engine_of")
wrap(startup, "release", "  release")
wrap(dmod.Engine, "adopt_image", "  adopt_image")
wrap(postgres.PostgresStore, "vouch", "vouch")
wrap(sqlite.SQLiteStore, "vouch", "vouch")
wrap(sstart, "resume", "hotline resume")
spec = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else ""
t0, c0 = time.perf_counter(), time.process_time()
if mode == "cprofile":
    import cProfile
    import pstats
    pr = cProfile.Profile()
    pr.enable()
service = Deconflict(open_store(spec))
t1, c1 = time.perf_counter(), time.process_time()
h = Hotline(service)
t2, c2 = time.perf_counter(), time.process_time()
if mode == "cprofile":
    pr.disable()
    pstats.Stats(pr).sort_stats("cumtime").print_stats(35)
print(f"Deconflict {t1-t0:.2f} s wall {c1-c0:.2f} cpu; Hotline {t2-t1:.2f} wall {c2-c1:.2f} cpu;",
      f"total {t2-t0:.2f} / {c2-c0:.2f}")
for k, (w, c) in T.items():
    print(f"{k:28s} {w:6.2f} wall {c:6.2f} cpu")
print(Path("/proc/loadavg").read_text().split()[:3])
