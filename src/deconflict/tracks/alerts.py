"""Alerts: raised, updated and cleared as events in the log; one view per party concerned.

An alert concerns the party of the asset and the owner of the object (a
measure's owner, a site's owner), or the parties of both assets of an
approach. Each party gets its own view, computed when the event is written and
filtered by the stream (``views[party]``): what a party may not see is left
out, as in :mod:`deconflict.service.disclosure`. A declaration not shared with
a party, and an asset whose linked declaration is not shared with it, keep
only their owner (to contact) and the rule; no id, no label, no position, no
distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.codecs.cot import format_time

RAISED = "alert.raised"
UPDATED = "alert.updated"
CLEARED = "alert.cleared"


@dataclass(slots=True)
class Subject:
    """An asset as an alert shows it (``visible_to`` None: to everyone)."""

    uid: str
    party: str
    lon: float
    lat: float
    alt_m: float
    at: datetime
    visible_to: frozenset[str] | None = None

    def visible(self, party: str) -> bool:
        return self.visible_to is None or party == self.party or party in self.visible_to

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "party": self.party or None, "lon": round(self.lon, 7), "lat": round(self.lat, 7),
                "alt_m": None if math.isnan(self.alt_m) else round(self.alt_m, 1), "time": format_time(self.at)}


@dataclass(slots=True)
class Thing:
    """The object of a conformance alert."""

    id: str
    type: str  # "measure" or "declaration"
    kind: str
    owner: str
    label: str
    lon: float
    lat: float
    visible_to: frozenset[str] | None = None

    def visible(self, party: str) -> bool:
        return self.visible_to is None or party == self.owner or party in self.visible_to

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "kind": self.kind, "owner": self.owner, "label": self.label}


@dataclass(slots=True)
class Alert:
    id: str
    key: str
    rule: str
    kind: str  # a finding kind
    summary: str
    subject: Subject
    thing: Thing | None = None  # conformance
    other: Subject | None = None  # proximity
    in_s: float | None = None  # predicted: seconds until it begins
    miss_m: float | None = None
    raised_at: datetime | None = None
    updated_at: datetime | None = None
    notes: dict[str, str] = field(default_factory=dict)  # party -> notification id
    acked: set[str] = field(default_factory=set)
    cleared: bool = False
    sent: dict[str, float] = field(default_factory=dict)  # party -> monotonic time of the last b-a-g

    @property
    def predicted(self) -> bool:
        return self.in_s is not None

    def parties(self) -> list[str]:
        out = {self.subject.party}
        if self.thing is not None:
            out.add(self.thing.owner)
        if self.other is not None:
            out.add(self.other.party)
        out.discard("")
        return sorted(out)

    def view(self, party: str, state: str) -> dict[str, Any]:
        """What ``party`` may see of this alert."""
        v: dict[str, Any] = {"alert": self.id, "state": state, "rule": self.rule, "kind": self.kind,
                             "predicted": self.predicted,
                             "in_s": None if self.in_s is None else round(self.in_s, 1)}
        hidden = []
        s = self.subject
        v["asset"] = s.to_json() if s.visible(party) else {"party": s.party or None}
        if not s.visible(party):
            hidden.append(f"an asset of {s.party}")
        if self.thing is not None:
            t = self.thing
            if t.visible(party):
                v["object"] = t.to_json()
                what = f"{t.kind.replace('_', ' ')} {t.id}" + (f" '{t.label}'" if t.label else "")
            else:
                v["object"] = {"owner": t.owner}
                what = f"a {t.kind.replace('_', ' ')} of {t.owner} not shared with you"
                hidden.append(what)
            who = f"{s.uid} ({s.party or 'unaffiliated'})" if s.visible(party) else f"an asset of {s.party}"
            when = f" in about {self.in_s:.0f} s" if self.in_s is not None else ""
            v["text"] = f"{who} {'will be' if self.predicted else 'is'} {self.summary}{when}: {what}"
        if self.other is not None:
            o = self.other
            v["other"] = o.to_json() if o.visible(party) else {"party": o.party or None}
            both = s.visible(party) and o.visible(party)
            if both:
                v["miss_m"] = None if self.miss_m is None else round(self.miss_m, 1)
            names = [f"{x.uid} ({x.party or 'unaffiliated'})" if x.visible(party) else f"an asset of {x.party}"
                     for x in (s, o)]
            when = (f"closest approach in {self.in_s:.0f} s" + (f", miss distance {self.miss_m:.0f} m" if both and
                                                               self.miss_m is not None else "")
                    if self.in_s is not None else "too close now")
            v["text"] = f"{names[0]} and {names[1]}: {when}"
        if hidden:
            v["text"] += ". Details not shared with you; contact " + ", ".join(
                sorted({p for p in (s.party, *(x.owner for x in [self.thing] if x), *(
                    x.party for x in [self.other] if x)) if p and p != party}))
        return v

    def views(self, state: str) -> dict[str, dict[str, Any]]:
        return {p: self.view(p, state) for p in self.parties()}

    def point_for(self, party: str) -> tuple[float, float]:
        """Where the alert goes on ``party``'s map: the asset if it may see it, else its own object."""
        if self.subject.visible(party):
            return self.subject.lon, self.subject.lat
        if self.thing is not None and self.thing.visible(party):
            return self.thing.lon, self.thing.lat
        if self.other is not None and self.other.visible(party):
            return self.other.lon, self.other.lat
        return 0.0, 0.0
