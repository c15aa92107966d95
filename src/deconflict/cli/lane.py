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
#: "1": the lane serves every route a worker does, so it keeps the connections
#: handed over to it (service/handover.py).
ENV_LANE_KEEPS = "DECONFLICT_SERVE_LANE_KEEPS"
#: The lane runs at a lower scheduling priority than the workers: costly work is
#: what may wait, so when the cores are busy the small requests get them first
#: (and at start, the workers load their engines before the lane does).
LANE_NICENESS = 5


def lane(env: dict[str, str], log: Callable[[str], None]) -> Child:
    """The lane, not yet started."""
    return Child("deconflict.cli.lane", "lane", ENV_LANE_SOCKET, env, log)


def main() -> None:
    import asyncio
    import socket

    import uvicorn

    from deconflict.service.handover import Receiver, handover_path

    class LaneServer(uvicorn.Server):
        """uvicorn's server, also serving the connections workers hand over
        (service/handover.py) with the same protocol as those it accepts."""

        receiver: Receiver | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.should_exit:
                return
            config, loop = self.config, asyncio.get_running_loop()

            def protocol() -> asyncio.Protocol:
                made: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                    config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop)
                return made

            self.receiver = Receiver(handover_path(os.environ[ENV_LANE_SOCKET]), protocol,
                                     keeps=os.environ.get(ENV_LANE_KEEPS) == "1")
            await self.receiver.start()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if self.receiver is not None:
                await self.receiver.stop()
            await super().shutdown(sockets)

    watch_parent()
    os.nice(LANE_NICENESS)
    config = uvicorn.Config("deconflict.cli.worker:lane_app", factory=True, uds=os.environ[ENV_LANE_SOCKET],
                            log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    LaneServer(config).run()


if __name__ == "__main__":
    main()
