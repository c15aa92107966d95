"""The tracker process behind ``deconflict serve --workers N`` (live tracks).

Started, and restarted when it ends, by ``serve`` (:class:`deconflict.cli.tracks.TrackerProcess`);
its settings come through the environment. It opens the store as a worker does,
runs the tracker, the evaluator and every listener (CoT TCP, UDP, TLS; the SBS-1
client), and serves the API on a unix socket for the workers to forward the
``/v1/tracks`` routes to (``deconflict.tracks.forward``). It ends when ``serve``
is gone, so a killed server leaves no tracker holding the CoT ports.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from deconflict.cli import worker
from deconflict.cli.tracks import ENV_PARENT, ENV_TRACKS, ENV_TRACKS_SOCKET, ENV_TRACKS_STORE, TracksOptions
from deconflict.errors import DeconflictError
from deconflict.service.deconflict import Deconflict
from deconflict.store.open import open_store

#: How often the process looks whether ``serve`` is still there.
PARENT_EVERY_S = 0.5


def _orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_EVERY_S)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown, then the listeners


def main() -> int:
    import uvicorn

    parent = int(os.environ[ENV_PARENT])
    threading.Thread(target=_orphaned, args=(parent,), name="parent-watch", daemon=True).start()
    live = TracksOptions.from_json(os.environ[ENV_TRACKS])
    try:
        service = Deconflict(open_store(os.environ[worker.ENV_STORE]))
    except DeconflictError as exc:
        sys.stderr.write(f"error: tracker process: {exc}\n")
        return 2
    try:
        try:
            app = worker.build(service, timedelta(minutes=float(os.environ[worker.ENV_ACK_MINUTES])),
                               extend=lambda a, h: live.start(a, h, Path(os.environ[ENV_TRACKS_STORE])))
        except (DeconflictError, OSError) as exc:  # OSError: a CoT port taken
            sys.stderr.write(f"error: tracker process: {exc}\n")
            return 2
        sys.stderr.write(f"live tracks: {live.describe()} (tracker process {os.getpid()})\n")
        sys.stderr.flush()
        uvicorn.run(app, uds=os.environ[ENV_TRACKS_SOCKET], log_level="warning", access_log=False,
                    timeout_graceful_shutdown=5)
        return 0
    finally:
        live.stop()
        service.close()


if __name__ == "__main__":
    sys.exit(main())
