"""Probing resistance: checks that touch what the caller may not see.

Every answer about a hidden declaration is an oracle (a conflict or not, a
caution or not): even redacted, a few dozen dry runs bisect a hidden site's
position. So such checks are counted per probing party, each recorded in the
log (``probe.recorded``, which every worker folds in), their owners can read
who probes them and how often, and a per-party budget bounds them: past it,
that party's dry runs answer 429 with Retry-After until the window frees, and
the owners probed are told (docs/threat-model.md).

Past the budget every dry run of the party is refused, not only those that
touch hidden objects: answering the others would keep the oracle open (the
429 itself would say "a hidden object is here").
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deconflict.errors import DeconflictError, InvalidInput
from deconflict.store.documents import format_time

#: Dry runs touching hidden declarations a party may make per window, by default
#: (bench/probe_attack.py: locating a site to 10 m takes about 32 of them).
DEFAULT_PROBE_LIMIT = 10
#: The sliding window of the budget, by default.
DEFAULT_PROBE_WINDOW = timedelta(hours=24)
#: Dry runs of any kind one party may make per window on one server process: an
#: attacker can trade counted probes for uncounted ones (marching towards a
#: hidden site from outside, every "no" free), so all dry runs are bounded too.
#: In memory, per worker (not in the log): with N workers a party gets N times this.
DEFAULT_CHECK_LIMIT = 600
DEFAULT_CHECK_WINDOW = timedelta(hours=1)
#: Bounds an administrator may set.
MAX_PROBE_LIMIT = 10_000
MAX_PROBE_WINDOW = timedelta(days=7)


class ProbeBudgetExceeded(DeconflictError):
    """HTTP 429: the party used its budget of checks touching hidden declarations."""

    def __init__(self, party: str, budget: Budget, retry_after_s: int, what: str = "") -> None:
        self.party = party
        self.budget = budget
        self.retry_after_s = retry_after_s
        what = what or "checks touching declarations not shared with it"
        super().__init__(
            f"{party} made {budget.limit} {what} within {budget.window_s:g} s: dry runs resume in "
            f"{retry_after_s} s")


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int
    window: timedelta

    @property
    def window_s(self) -> float:
        return self.window.total_seconds()

    @classmethod
    def decode(cls, payload: dict[str, Any]) -> Budget:
        limit, window_s = payload.get("limit"), payload.get("window_s")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PROBE_LIMIT:
            raise InvalidInput("limit", f"must be an integer from 0 to {MAX_PROBE_LIMIT}")
        if (isinstance(window_s, bool) or not isinstance(window_s, (int, float)) or not math.isfinite(window_s)
                or not 1 <= window_s <= MAX_PROBE_WINDOW.total_seconds()):
            raise InvalidInput("window_s", f"must be from 1 to {MAX_PROBE_WINDOW.total_seconds():g} seconds")
        return cls(limit, timedelta(seconds=window_s))

    def payload(self, party: str) -> dict[str, Any]:
        return {"party": party, "limit": self.limit, "window_s": self.window_s}


@dataclass
class _Tally:
    count: int
    first: datetime
    last: datetime


class ProbeLedger:
    """What the log says about probing: per prober, the times of its counted
    probes (within the longest window, for the budget); per owner, who probed
    it and how often (in aggregate: no probe's geometry is kept)."""

    def __init__(self, default: Budget | None = None) -> None:
        self.default = default or Budget(DEFAULT_PROBE_LIMIT, DEFAULT_PROBE_WINDOW)
        self._budgets: dict[str, Budget] = {}
        self._times: dict[str, deque[datetime]] = {}
        self._by_owner: dict[str, dict[str, _Tally]] = {}
        self.check_budget = Budget(DEFAULT_CHECK_LIMIT, DEFAULT_CHECK_WINDOW)
        self._checks: dict[str, deque[datetime]] = {}

    def budget(self, party: str) -> Budget:
        return self._budgets.get(party, self.default)

    def set_budget(self, party: str, budget: Budget) -> None:
        self._budgets[party] = budget

    def recorded(self, prober: str, owners: list[str], at: datetime) -> None:
        times = self._times.setdefault(prober, deque())
        times.append(at)
        self._prune(prober, at)
        for owner in owners:
            tally = self._by_owner.setdefault(owner, {}).get(prober)
            if tally is None:
                self._by_owner[owner][prober] = _Tally(1, at, at)
            else:
                tally.count += 1
                tally.last = max(tally.last, at)

    def _prune(self, prober: str, now: datetime) -> deque[datetime]:
        times = self._times.get(prober, deque())
        horizon = now - self.budget(prober).window
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def used(self, prober: str, now: datetime) -> int:
        return len(self._prune(prober, now))

    def retry_after(self, prober: str, now: datetime) -> int:
        """Whole seconds until a probe of ``prober`` is allowed again (0: now)."""
        budget = self.budget(prober)
        times = self._prune(prober, now)
        if len(times) < budget.limit:
            return 0
        # The probe that must leave the window for one to be allowed again.
        oldest = times[len(times) - budget.limit]
        return max(1, math.ceil((oldest + budget.window - now).total_seconds()))

    def require(self, prober: str, now: datetime) -> None:
        wait = self.retry_after(prober, now)
        if wait:
            raise ProbeBudgetExceeded(prober, self.budget(prober), wait)

    def count_check(self, party: str, now: datetime) -> None:
        """Count one dry run of any kind (this process only), or raise 429 past the limit."""
        times = self._checks.setdefault(party, deque())
        horizon = now - self.check_budget.window
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) >= self.check_budget.limit:
            wait = max(1, math.ceil((times[0] + self.check_budget.window - now).total_seconds()))
            raise ProbeBudgetExceeded(party, self.check_budget, wait, "dry runs")
        times.append(now)

    def owners_in_window(self, prober: str, now: datetime) -> list[str]:
        horizon = now - self.budget(prober).window
        return sorted(o for o, tallies in self._by_owner.items()
                      if prober in tallies and tallies[prober].last > horizon)

    def status(self, party: str, now: datetime) -> dict[str, Any]:
        budget = self.budget(party)
        used = self.used(party, now)
        return {"limit": budget.limit, "window_s": budget.window_s, "used": used,
                "remaining": max(0, budget.limit - used), "retry_after_s": self.retry_after(party, now),
                "dry_runs_per_worker": {"limit": self.check_budget.limit,
                                        "window_s": self.check_budget.window_s}}

    def probed(self, owner: str | None) -> list[dict[str, Any]]:
        """Who probed ``owner``'s declarations (every owner's for None), and how often."""
        owners = sorted(self._by_owner) if owner is None else [owner]
        return [{"owner": o, "prober": p, "count": t.count, "first": format_time(t.first),
                 "last": format_time(t.last)}
                for o in owners for p, t in sorted(self._by_owner.get(o, {}).items())]
