"""Crash safety and concurrency, with real processes on one file.

A writer is killed (SIGKILL: no cleanup, no flush, no atexit) while it appends
in a loop; every event it reported as appended must be in the reopened store,
and the chain must verify. Two writers on one file must produce one gapless
chain.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deconflict.store.sqlite import SQLiteStore
from tests.store.helpers import replay, tables

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and fork semantics are POSIX")

# Each loop appends a party (state tables are written too) and a note, then
# reports the last seq only after append() has returned.
WRITER = r"""
import sys, time
from deconflict.model import Party
from deconflict.store.events import EventDraft, party_added
from deconflict.store.sqlite import SQLiteStore

tag, limit, start_at = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
time.sleep(max(0.0, start_at - time.time()))
store = SQLiteStore(sys.argv[1])
i = 0
while limit < 0 or i < limit:
    i += 1
    events = store.append([
        party_added("admin", Party(f"{tag}-{i}", f"Party {tag} {i}")),
        EventDraft("note.added", "system", "", {"tag": tag, "i": i, "pad": "x" * 2000}),
    ])
    print(events[-1].seq, flush=True)
store.close()
"""


def start_writer(path: Path, tag: str, limit: int = -1, start_at: float = 0.0) -> subprocess.Popen[str]:
    """A writer process; it opens the store at ``start_at`` (epoch seconds), so
    that several writers started together really run at the same time."""
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(limit), str(start_at)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_lines(proc: subprocess.Popen[str], n: int, deadline: float) -> list[int]:
    """``n`` lines from the writer, or fail at ``deadline`` (never hang)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
            if lines.qsize() >= n:
                return

    threading.Thread(target=pump, daemon=True).start()
    out: list[int] = []
    while len(out) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proc.kill()
            pytest.fail(f"writer printed {len(out)} of {n} lines in time; stderr: {proc.communicate()[1][-2000:]}")
        try:
            out.append(int(lines.get(timeout=min(remaining, 0.5))))
        except queue.Empty:
            if proc.poll() is not None and lines.empty():
                pytest.fail(f"writer exited with {proc.returncode}: {proc.communicate()[1][-2000:]}")
    return out


def test_store_crash_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    deadline = time.monotonic() + 18
    acknowledged: list[int] = []
    for round_ in range(3):
        proc = start_writer(path, f"r{round_}")
        try:
            acknowledged += read_lines(proc, 20 + 7 * round_, deadline)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.stderr is not None:
                proc.stderr.close()
        with SQLiteStore(path) as store:
            n = store.verify()
            assert max(acknowledged) <= n
            present = {e.seq for e in store.events()}
            assert set(acknowledged) <= present
            # Batches are whole: a party is there exactly when its note is.
            assert n % 2 == 0
            assert tables(store) == replay(store.events())


def test_store_two_processes_make_one_gapless_chain(tmp_path: Path) -> None:
    # Neither process finds the file: creating the store races too.
    path = tmp_path / "new" / "store.sqlite3"
    per_writer = 60
    start_at = time.time() + 1.0  # after both interpreters have imported the package
    procs = [start_writer(path, tag, per_writer, start_at) for tag in ("a", "b")]
    printed: list[list[int]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        printed.append([int(line) for line in out.split()])
    for seqs in printed:
        assert len(seqs) == per_writer
        assert seqs == sorted(seqs)
    everything = sorted(printed[0] + printed[1])
    # Each batch has two events and reports its last: the even numbers, no repeats.
    assert everything == list(range(2, 4 * per_writer + 1, 2))
    with SQLiteStore(path) as store:
        assert store.verify() == 4 * per_writer
        assert len(store.parties()) == 2 * per_writer
        assert tables(store) == replay(store.events())
