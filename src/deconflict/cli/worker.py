"""What one `deconflict serve` process runs: the store, the hotline, the API and the map.

With ``--workers N`` uvicorn starts N processes that each import
:func:`worker_app` (its settings come through the environment, as uvicorn's
workers are fresh interpreters). They share the store: every decision is
taken under the store's exclusive lock after folding in what the others
appended (see :meth:`deconflict.service.deconflict.Deconflict.sync`), so
acceptance stays serialisable across them, and each follows the others'
appends for its reads and streams.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from deconflict import web
from deconflict.service import heap, startup, switching
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.http import FOLLOW_EVERY_S, LANE_FOLLOW_EVERY_S, create_app
from deconflict.store.open import open_store

ENV_STORE = "DECONFLICT_SERVE_STORE"
ENV_ACK_MINUTES = "DECONFLICT_SERVE_ACK_MINUTES"
ENV_TILES = "DECONFLICT_SERVE_TILES"  # a JSON list of tile file paths (--tiles)
ENV_LANE = "DECONFLICT_SERVE_LANE"  # the costly lane's Unix socket (service/lane.py), if any (cli/lane.py)
#: Where the tracker process listens, when live tracks are on (cli/tracks.py ENV_TRACKS_SOCKET).
ENV_TRACKS_SOCKET = "DECONFLICT_SERVE_TRACKS_SOCKET"


def build(service: Deconflict, ack_deadline: timedelta, *, close_store: bool = False,
          extend: Callable[[FastAPI, Hotline], None] | None = None, tiles: Sequence[Path] = (),
          lane: str | None = None, is_lane: bool = False) -> FastAPI:
    """``extend`` adds routes (live tracks) before the map takes ``/``; ``tiles``
    are the user's MBTiles and PMTiles files the map offers as base layers;
    ``lane`` is the costly lane's socket, ``is_lane`` builds the lane itself."""
    hotline = Hotline(service, ack_deadline=ack_deadline)
    if not is_lane:
        # The next start of a large store begins from here (service/startup.py);
        # the workers take care of it, the lane need not write it again.
        startup.refresh(hotline)
    # What was loaded lives as long as the server: keep the collector from
    # walking it again and again (full collections over a million objects
    # were the slowest checks in the benchmark).
    heap.freeze_loaded()
    switching.share_interpreter()  # small requests behind a busy thread (service/switching.py)
    app = create_app(hotline, close_store=close_store, lane=lane, in_lane=is_lane,
                     follow_every=LANE_FOLLOW_EVERY_S if is_lane else FOLLOW_EVERY_S)
    if extend is not None:
        extend(app, hotline)
    web.mount(app, tiles=tiles)  # the map at /, the tiles at /tiles
    return app


def _served_here() -> tuple[list[Path], Callable[[FastAPI, Hotline], None] | None]:
    """The tile files, and the tracks routes (to the one tracker process, when
    live tracks are on), that ``serve`` passed through the environment."""
    tiles = [Path(p) for p in json.loads(os.environ.get(ENV_TILES, "[]"))]
    sock = os.environ.get(ENV_TRACKS_SOCKET)
    if not sock:
        return tiles, None
    from deconflict.tracks import forward

    def extend(app: FastAPI, hotline: Hotline) -> None:
        forward.mount(app, hotline, sock, app.state.health)  # tracks/forward.py

    return tiles, extend


def worker_app() -> FastAPI:
    """The app factory of a worker process (``uvicorn --factory``)."""
    service = Deconflict(open_store(os.environ[ENV_STORE]))
    tiles, extend = _served_here()
    return build(service, timedelta(minutes=float(os.environ[ENV_ACK_MINUTES])), close_store=True, tiles=tiles,
                 extend=extend, lane=os.environ.get(ENV_LANE) or None)


def lane_app() -> FastAPI:
    """The app factory of the costly lane (cli/lane.py): a worker that takes
    what the workers pass it, and passes nothing on. It serves the same routes
    (the connections handed over to it stay with it: service/handover.py)."""
    service = Deconflict(open_store(os.environ[ENV_STORE]))
    tiles, extend = _served_here()
    return build(service, timedelta(minutes=float(os.environ[ENV_ACK_MINUTES])), close_store=True, tiles=tiles,
                 extend=extend, is_lane=True)
