"""What a party may see of a finding about another party's declaration.

A declaration says with whom it is shared. A finding about one the caller may
not see keeps only its kind, the rule, the time overlap and whom to contact:
no id, no label, no coordinates, and no separation or vertical gap either,
because distances from a few probing checks would give the position away.
"""

from __future__ import annotations

from dataclasses import replace

from deconflict.model import CheckResult, Declaration, Finding


def visible(decl: Declaration, party: str) -> bool:
    return decl.share_with.allows(party, decl.owner)


def redact_finding(f: Finding) -> Finding:
    when = ""
    if f.overlap is not None:
        when = f", {f.overlap.start:%Y-%m-%d %H:%M}-{f.overlap.end:%H:%M} UTC"
    text = (f"A {f.kind.value.replace('_', ' ')} ({f.rule}) with a declaration of {f.owner} that is "
            f"not shared with you{when}. Contact {f.owner}; they have been notified with the details.")
    return replace(f, object_id="", object_kind="", object_label="", separation_m=0.0,
                   vertical_gap_m=None, explanation=text, conservative=False)


def redact(result: CheckResult, party: str, lookup: dict[str, Declaration]) -> CheckResult:
    """The result as ``party`` may see it; ``lookup`` maps declaration ids to declarations."""
    out = []
    for f in result.findings:
        decl = lookup.get(f.object_id) if f.object_type == "declaration" else None
        out.append(redact_finding(f) if decl is not None and not visible(decl, party) else f)
    return CheckResult(result.verdict, tuple(out))
