"""Plain-language explanations of findings, for watch officers, not programmers."""

from __future__ import annotations

import functools
from datetime import datetime

from deconflict.engine.parts import Part, Role
from deconflict.engine.rules import Outcome
from deconflict.model import Declaration, FindingKind, Measure, Side, Site


def metres(m: float) -> str:
    return f"{m / 1000:,.1f} km" if m >= 10_000 else f"{m:,.0f} m"


@functools.lru_cache(maxsize=4096)
def when(start: datetime, end: datetime) -> str:
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def part_phrase(part: Part) -> str:
    r = metres(part.radius_m)
    if part.role is Role.EFFECTS:
        return f"the fire's effects ({r} radius)"
    if part.role is Role.TRAJECTORY:
        assert part.band is not None
        return f"the fire's trajectory ({r} either side, {part.band})"
    if part.role is Role.SITE:
        return f"the site's protection area ({r})"
    kind = part.kind.value
    where = f"{part.name} of the {kind}" if part.role is Role.LEG else f"the {kind}'s {part.name}"
    extra = []
    if part.radius_m:
        extra.append(f"{r} either side")
    if part.band is not None:
        extra.append(str(part.band))
    return where + (f" ({', '.join(extra)})" if extra else "")


def object_phrase(decl: Declaration) -> str:
    label = f" '{decl.label}'" if decl.label else ""
    extra = ""
    if isinstance(decl, Site):
        bits = [decl.category.value]
        if decl.people_present:
            bits.append("people present")
        extra = f" ({', '.join(bits)})"
    return f"{decl.kind.value} {decl.id}{label}{extra} of {decl.owner}"


def _tail(kind: FindingKind, o: Outcome) -> str:
    if o.strict:
        if o.overlap is None:
            return ""
        return f", {when(o.overlap.start, o.overlap.end)}"
    reasons = []
    if o.separation_m > 0:
        reasons.append(f"{metres(o.separation_m)} apart")
    if o.vertical_gap_m:
        reasons.append(f"{metres(o.vertical_gap_m)} apart vertically")
    if o.time_gap_s > 0:
        reasons.append(f"{o.time_gap_s / 60:,.0f} min apart in time")
    return " within the caution margins (" + ", ".join(reasons or ["touching"]) + ")"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _verb(part: Part, singular: str, plural: str) -> str:
    return plural if part.role is Role.EFFECTS else singular


def explain_pair(kind: FindingKind, activity: Part, other: Part, decl: Declaration, o: Outcome) -> str:
    verb = _verb(activity, "overlaps", "overlap") if o.strict else _verb(activity, "comes", "come") + " close to"
    target = part_phrase(other).replace("the site's", "the")
    text = f"{_cap(part_phrase(activity))} {verb} {target} of {object_phrase(decl)}"
    text += _tail(kind, o) + "."
    if o.conservative:
        text += " Decided conservatively: the footprints touch within the tolerance."
    return text


def explain_measure(kind: FindingKind, activity: Part, m: Measure, o: Outcome, own: Side | None) -> str:
    label = f" '{m.label}'" if m.label else ""
    name = f"{m.kind.value.replace('_', ' ')} {m.id}{label} of {m.owner}"
    subject = _cap(part_phrase(activity))
    close = _verb(activity, "comes", "come") + " close to"
    if m.kind.is_line:
        assert own is not None
        if o.strict:
            reach = _verb(activity, "reaches", "reach")
            text = f"{subject} {reach} the far side of {name}; {activity.owner} keeps to the {own.value}"
        else:
            text = f"{subject} {close} {name}; {activity.owner} keeps to the {own.value}"
    else:
        band = f" ({m.altitude})" if m.altitude is not None else ""
        verb = _verb(activity, "enters", "enter") if o.strict else close
        text = f"{subject} {verb} {name}{band}"
    text += _tail(kind, o) + "."
    if o.note:
        text += f" Judged {o.note}, against its continuation."
    if kind is FindingKind.COORDINATION_REQUIRED:
        text += f" Coordinate with {m.owner} before execution."
    return text
