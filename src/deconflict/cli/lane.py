"""The costly lane's process: started, watched and stopped by ``serve``.

The lane (service/lane.py) is one more server process on the store, listening
on a Unix socket in a directory only this user can enter. ``serve`` restarts it
if it dies (the workers answer costly requests themselves meanwhile), stops it
when it stops, and the lane stops by itself when ``serve`` is gone, even killed
with SIGKILL: it watches its parent.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

#: How often the lane looks whether ``serve`` is still there.
PARENT_POLL_S: Final = 0.5
#: How long a stopping lane may drain before it is killed.
STOP_GRACE_S: Final = 10.0
#: Restarts back off from this, doubling, to RESTART_MAX_S.
RESTART_MIN_S: Final = 0.5
RESTART_MAX_S: Final = 30.0
#: A lane that ran this long before dying restarts without waiting.
STABLE_S: Final = 60.0


class Lane:
    """The lane's process, restarted while ``serve`` runs."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="deconflict-lane-"))  # mode 0700: this user only
        self.socket = str(self._dir / "lane.sock")
        self._stopping = threading.Event()
        self._proc: BaseProcess | None = None
        self._watch = threading.Thread(target=self._supervise, name="lane-supervisor", daemon=True)
        self.restarts = 0

    def start(self) -> Lane:
        """Start the lane (the environment carries the worker settings, cli/worker.py)."""
        self._proc = self._spawn()
        self._watch.start()
        return self

    def _spawn(self) -> BaseProcess:
        # spawn, not fork: the parent has threads and an event loop to come.
        proc = multiprocessing.get_context("spawn").Process(
            target=run, args=(self.socket, os.getpid()), name="deconflict-lane", daemon=False)
        proc.start()
        return proc

    def _supervise(self) -> None:
        delay = RESTART_MIN_S
        while not self._stopping.is_set():
            proc = self._proc
            assert proc is not None
            began = time.monotonic()
            proc.join()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - began
            delay = RESTART_MIN_S if ran >= STABLE_S else min(delay * 2, RESTART_MAX_S)
            log.warning("the costly lane exited (code %s); restarting in %.1f s", proc.exitcode, delay)
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._proc = self._spawn()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def stop(self) -> None:
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.terminate()  # SIGTERM: uvicorn drains, the store closes
            proc.join(STOP_GRACE_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
        shutil.rmtree(self._dir, ignore_errors=True)


def run(socket_path: str, parent: int) -> None:
    """The lane process: a worker app (cli/worker.py: lane_app) on the socket."""
    import uvicorn

    # Its own session: a Ctrl-C at the terminal goes to ``serve``, which stops
    # the lane in order; the lane restarting on that signal would race it.
    os.setsid()
    threading.Thread(target=_watch_parent, args=(parent,), name="lane-parent", daemon=True).start()
    uvicorn.run("deconflict.cli.worker:lane_app", factory=True, uds=socket_path, log_level="warning",
                access_log=False, timeout_graceful_shutdown=5)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    # ``serve`` is gone: drain and stop as on SIGTERM, and never outlive it long.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_S)
    os._exit(1)
