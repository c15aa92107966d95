"""How often a server's interpreter hands its lock (the GIL) between threads.

A server process runs its event loop, the committer and the threads that build
large footprints in one interpreter. When a thread computes in Python (a
4,000-vertex polygon's validation, a long check), every other thread that
wants the interpreter waits for it to offer the lock, which CPython does every
switch interval: 5 ms by default. A small request needs the interpreter
several times on its way (parse, queue, decide, answer), so behind one busy
thread it paid several of those waits: the canary's p99 under another
party's polygon checks was 6.5x its idle p99 (issue 9). A shorter interval
makes the busy thread offer the lock more often, at a cost in switching.

Measured with ``bench/abuse.py --switch-ms 5,1`` (bench/README.md) on the shared
machine at load 8-10: under polygon checks the canary's p99 was 162 ms at 1 ms
against 186 ms at 5 ms, but idle it was 75 against 28 ms. Not a clear gain, so
the default stays CPython's 5 ms; an operator may set
``DECONFLICT_SWITCH_INTERVAL_MS`` and measure on their own machine.
"""

from __future__ import annotations

import os
import sys
from typing import Final

from deconflict.errors import InvalidInput

#: The interval a server uses unless told otherwise (seconds): CPython's own.
SWITCH_INTERVAL_S: Final = 0.005
ENV_SWITCH_MS: Final = "DECONFLICT_SWITCH_INTERVAL_MS"


def share_interpreter() -> float:
    """Set the switch interval of this server process; returns it (seconds)."""
    raw = os.environ.get(ENV_SWITCH_MS)
    interval = SWITCH_INTERVAL_S
    if raw is not None:
        try:
            interval = float(raw) / 1000.0
        except ValueError:
            raise InvalidInput(ENV_SWITCH_MS, f"must be a number of milliseconds, not {raw!r}") from None
        if not 0.05e-3 <= interval <= 100e-3:
            raise InvalidInput(ENV_SWITCH_MS, "must be between 0.05 and 100 ms")
    sys.setswitchinterval(interval)
    return interval
