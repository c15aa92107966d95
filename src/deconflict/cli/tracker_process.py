"""The tracker process behind ``deconflict serve --workers N`` (live tracks).

Started, and restarted when it ends, by ``serve`` (:func:`deconflict.cli.tracks.tracker_process`, cli/child.py);
its settings come through the environment. It opens the store as a worker does,
runs the tracker, the evaluator and every listener (CoT TCP, UDP, TLS; the SBS-1
client), and serves the API on a unix socket for the workers to forward the
``/v1/tracks`` routes to (``deconflict.tracks.forward``). It ends when ``serve``
is gone, so a killed server leaves no tracker holding the CoT ports.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

from deconflict.cli import worker
from deconflict.cli.child import watch_parent
from deconflict.cli.tracks import ENV_TRACKS, ENV_TRACKS_SOCKET, ENV_TRACKS_STORE, TracksOptions
from deconflict.errors import DeconflictError
from deconflict.service.deconflict import Deconflict
from deconflict.store.open import open_store


def main() -> int:
    import uvicorn

    watch_parent()
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
