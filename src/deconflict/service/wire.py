"""Check results as JSON documents (CLI ``--json``, scenario reports, the HTTP API)."""

from __future__ import annotations

from typing import Any

from deconflict.model import CheckResult, Finding
from deconflict.store.documents import format_time


def encode_finding(f: Finding) -> dict[str, Any]:
    # An object id is never empty (model/party.py: check_id), except in a finding
    # redacted for a party that may not see the object (service/disclosure.py):
    # what was withheld is null, never 0 or "" (a client took 0 m for a distance).
    withheld = not f.object_id
    return {
        "kind": f.kind.value,
        "rule": f.rule,
        "object": {"id": None if withheld else f.object_id, "type": f.object_type,
                   "kind": None if withheld else f.object_kind, "owner": f.owner,
                   "label": None if withheld else f.object_label},
        "part": f.part,
        "withheld": withheld,
        "separation_m": None if withheld else f.separation_m,
        "vertical_gap_m": None if withheld else f.vertical_gap_m,
        "overlap": None if f.overlap is None else {
            "start": format_time(f.overlap.start), "end": format_time(f.overlap.end)},
        "time_gap_s": f.time_gap_s,
        "conservative": f.conservative,
        "explanation": f.explanation,
    }


def encode_result(r: CheckResult) -> dict[str, Any]:
    return {"verdict": r.verdict.value, "findings": [encode_finding(f) for f in r.findings]}
