"""Dry runs in flight, bounded per server process and per party (issue 9).

A dry run (``POST /v1/checks``) builds its footprint and compares it with
everything in force: the costliest request a party can send at will. The probe
budget (service/probing.py) bounds how many a party gets over hours, nothing
bounded how many run at once: one party sending many at a time took every
thread of a worker and slowed everyone's submits behind them. So each process
runs at most :data:`MAX_CHECKS_PER_WORKER` at a time, and a party at most
:data:`MAX_CHECKS_PER_PARTY` of them. Past the party's share the check is
answered 429 (the caller's own excess), past the process's 503 (the server is
busy, whoever asks); both with ``Retry-After``, and nothing is queued: a
refused check costs the server next to nothing. An operator may change them
with ``DECONFLICT_CHECKS_PER_WORKER`` and ``DECONFLICT_CHECKS_PER_PARTY``;
``GET /v1/limits`` shows them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from deconflict.errors import DeconflictError

#: Dry runs one server process runs at once (of its 40 threads; 2 cores run at
#: most 2 at a time anyway, the others wait for the interpreter).
MAX_CHECKS_PER_WORKER = 8
#: Dry runs one party runs at once on one process: half the process's, so two
#: parties at their limit still leave room for a third.
MAX_CHECKS_PER_PARTY = 4
#: What a refused check is told to wait: a check takes milliseconds to a second.
RETRY_AFTER_S = 1


class TooManyChecks(DeconflictError):
    """HTTP 429 (the party's share) or 503 (the process's): nothing was checked."""

    def __init__(self, whose: str, limit: int, *, busy: bool) -> None:
        self.limit = limit
        self.busy = busy
        self.retry_after_s = RETRY_AFTER_S
        super().__init__(f"{whose} already has {limit} checks in progress; retry in {RETRY_AFTER_S} s")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else default


@dataclass
class CheckLimits:
    per_worker: int = field(default_factory=lambda: _env_int("DECONFLICT_CHECKS_PER_WORKER", MAX_CHECKS_PER_WORKER))
    per_party: int = field(default_factory=lambda: _env_int("DECONFLICT_CHECKS_PER_PARTY", MAX_CHECKS_PER_PARTY))


class CheckSlots:
    """The dry runs in flight on this process."""

    def __init__(self, limits: CheckLimits | None = None) -> None:
        self.limits = limits or CheckLimits()
        self._lock = threading.Lock()
        self._all = 0
        self._by_party: dict[str, int] = {}
        #: Checks refused so far (429, 503): for the benchmark and the operator.
        self.refused = {"party": 0, "worker": 0}

    @contextlib.contextmanager
    def admit(self, party: str) -> Iterator[None]:
        """Hold a slot for one check of ``party``, or raise TooManyChecks at once."""
        with self._lock:
            mine = self._by_party.get(party, 0)
            if mine >= self.limits.per_party:
                self.refused["party"] += 1
                raise TooManyChecks(party or "an administrator", self.limits.per_party, busy=False)
            if self._all >= self.limits.per_worker:
                self.refused["worker"] += 1
                raise TooManyChecks("this server process", self.limits.per_worker, busy=True)
            self._all += 1
            self._by_party[party] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                self._all -= 1
                left = self._by_party[party] - 1
                if left:
                    self._by_party[party] = left
                else:
                    del self._by_party[party]

    def in_flight(self, party: str | None = None) -> int:
        """Checks running now: of ``party``, or of everyone."""
        with self._lock:
            return self._all if party is None else self._by_party.get(party, 0)

    def to_json(self) -> dict[str, int]:
        return {"checks_in_flight_per_worker": self.limits.per_worker,
                "checks_in_flight_per_party": self.limits.per_party}
