"""A process ``serve`` runs beside its workers, serving on a Unix socket: started,
watched, restarted when it ends, stopped with ``serve``, and never outliving it.

Two such processes exist: the costly lane (cli/lane.py, service/lane.py) and the
tracker behind several workers (cli/tracker_process.py, tracks/forward.py).
Each is a module run as ``python -m``, in a session of its own (a Ctrl-C at the
terminal reaches ``serve``, which stops it in order; a child restarting on that
signal would race it), listening on a socket in a directory only this user can
enter. It calls :func:`watch_parent` first: when ``serve`` is gone, even killed
with SIGKILL, it drains and stops, so nothing is left holding ports or the store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Final

from deconflict.errors import InvalidInput

ENV_PARENT: Final = "DECONFLICT_SERVE_PARENT"  # the serve process: a child ends when it is gone
#: How often a child looks whether ``serve`` is still there.
PARENT_POLL_S: Final = 0.5
#: How long a stopping child may drain before it is killed.
STOP_GRACE_S: Final = 20.0
#: Restarts back off from RESTART_MIN_S, doubling, to RESTART_MAX_S; a child that
#: ran STABLE_S before it ended starts the backoff again.
RESTART_MIN_S: Final = 1.0
RESTART_MAX_S: Final = 30.0
STABLE_S: Final = 60.0


class Child:
    """One such process at a time: the next starts after the last has ended."""

    #: How long :meth:`start` waits for the child to answer, when asked to wait.
    READY_S = 300.0  # loading a large store's engine may take a while

    def __init__(self, module: str, name: str, socket_env: str, env: dict[str, str],
                 log: Callable[[str], None], alive: Callable[[str], bool] | None = None) -> None:
        """``module`` is run with ``socket_env`` naming its socket; ``alive``
        (given the socket) says whether it answers, for :meth:`start` to wait."""
        self.module, self.name, self.log, self.alive = module, name, log, alive
        self.dir = tempfile.mkdtemp(prefix=f"deconflict-{name}-")  # 0700: this user's only
        self.socket = os.path.join(self.dir, f"{name}.sock")
        self.env = {**env, socket_env: self.socket, ENV_PARENT: str(os.getpid())}
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)
        return subprocess.Popen([sys.executable, "-m", self.module], env=self.env, stdin=subprocess.DEVNULL,
                                start_new_session=True)

    def start(self) -> Child:
        """Start it; with ``alive``, wait until it answers (refused, naming the
        child, when it ends first or does not answer in READY_S)."""
        proc = self._proc = self._spawn()
        if self.alive is not None:
            deadline = time.monotonic() + self.READY_S
            while not self.alive(self.socket):
                rc = proc.poll()
                if rc is not None:
                    self._cleanup()
                    raise InvalidInput(self.name, f"the {self.name} process ended at start (exit {rc}): see above")
                if time.monotonic() > deadline:
                    self.stop()
                    raise InvalidInput(self.name, f"the {self.name} process did not answer within "
                                                  f"{self.READY_S:.0f} s")
                time.sleep(0.1)
        self._thread = threading.Thread(target=self._watch, name=f"{self.name}-supervisor", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        backoff = RESTART_MIN_S
        while not self._stopping.is_set():
            proc = self._proc
            assert proc is not None
            started = time.monotonic()
            rc = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > STABLE_S:
                backoff = RESTART_MIN_S  # it ran a while: this is a new failure
            self.log(f"the {self.name} process ended (exit {rc}); restarting it in {backoff:.0f} s")
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, RESTART_MAX_S)
            with self._lock:
                if self._stopping.is_set():
                    return
                self._proc = self._spawn()
                self.restarts += 1

    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # uvicorn drains, then the child closes what it holds
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._thread is not None:
            self._thread.join(5)
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def watch_parent() -> None:
    """In a child: end this process (as on SIGTERM, then for good) once
    ``serve``, named by ENV_PARENT, is gone."""
    parent = int(os.environ[ENV_PARENT])

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
        time.sleep(STOP_GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
