"""The costly lane's process (service/lane.py): run by ``serve`` as a child
(cli/child.py) on a private Unix socket; the workers pass it costly requests.

It is a worker (cli/worker.py: lane_app) that passes nothing on. ``serve`` does
not wait for it: until it answers, the workers answer costly requests themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from deconflict.cli.child import Child, watch_parent

ENV_LANE_SOCKET = "DECONFLICT_SERVE_LANE"  # where the lane listens (the workers read it too)
#: The lane runs at a lower scheduling priority than the workers: costly work is
#: what may wait, so when the cores are busy the small requests get them first
#: (and at start, the workers load their engines before the lane does).
LANE_NICENESS = 5


def lane(env: dict[str, str], log: Callable[[str], None]) -> Child:
    """The lane, not yet started."""
    return Child("deconflict.cli.lane", "lane", ENV_LANE_SOCKET, env, log)


def main() -> None:
    import uvicorn

    watch_parent()
    os.nice(LANE_NICENESS)
    uvicorn.run("deconflict.cli.worker:lane_app", factory=True, uds=os.environ[ENV_LANE_SOCKET],
                log_level="warning", access_log=False, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
