"""What a party may see of a finding about another party's declaration.

A declaration says with whom it is shared. A finding about one the caller may
not see keeps only its kind, the rule, whom to contact and the hour: no id,
no label, no coordinates, no separation or vertical gap, no part of the
caller's activity and no exact overlap, because each of those from a few
probing checks would give the position away (docs/threat-model.md).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from deconflict.model import CheckResult, Declaration, Finding
from deconflict.model.finding import TimeSpan


def visible(decl: Declaration, party: str) -> bool:
    return decl.share_with.allows(party, decl.owner)


def coarse(span: TimeSpan) -> TimeSpan:
    """The span widened to whole hours (UTC): when, to the hour, and no finer."""
    start = span.start.replace(minute=0, second=0, microsecond=0)
    end = span.end.replace(minute=0, second=0, microsecond=0)
    if end < span.end:
        end += timedelta(hours=1)
    return TimeSpan(start, max(end, start + timedelta(hours=1)))


def redact_finding(f: Finding) -> Finding:
    """Only what the caller needs to act: the kind, the rule, whom to contact and
    the hour. Not the part of its own activity concerned ("leg 7" located a site
    in one check), not the exact overlap or time gap (each bisects in time), no
    distance, no id, no label."""
    when = None if f.overlap is None else coarse(f.overlap)
    text = (f"A {f.kind.value.replace('_', ' ')} ({f.rule}) with a declaration of {f.owner} that is "
            f"not shared with you"
            + ("" if when is None else f", {when.start:%Y-%m-%d %H:00}-{when.end:%H:00} UTC")
            + f". Contact {f.owner}; they have been notified with the details.")
    return replace(f, object_id="", object_kind="", object_label="", separation_m=0.0,
                   vertical_gap_m=None, overlap=when, time_gap_s=0.0, explanation=text,
                   conservative=False, part="")


def hidden_owners(result: CheckResult, party: str, lookup: dict[str, Declaration]) -> dict[str, str]:
    """The declarations of ``result`` hidden from ``party``: id -> owner (a probe, if any)."""
    out = {}
    for f in result.findings:
        decl = lookup.get(f.object_id) if f.object_type == "declaration" else None
        if decl is not None and not visible(decl, party):
            out[decl.id] = decl.owner
    return out


def redact(result: CheckResult, party: str, lookup: dict[str, Declaration]) -> CheckResult:
    """The result as ``party`` may see it; ``lookup`` maps declaration ids to declarations."""
    out = []
    for f in result.findings:
        decl = lookup.get(f.object_id) if f.object_type == "declaration" else None
        out.append(redact_finding(f) if decl is not None and not visible(decl, party) else f)
    return CheckResult(result.verdict, tuple(out))
