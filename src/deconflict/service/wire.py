"""Check results as JSON documents (CLI ``--json``, scenario reports, the HTTP API)."""

from __future__ import annotations

from typing import Any

from deconflict.model import CheckResult, Finding
from deconflict.store.documents import format_time


def encode_finding(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind.value,
        "rule": f.rule,
        "object": {"id": f.object_id, "type": f.object_type, "kind": f.object_kind,
                   "owner": f.owner, "label": f.object_label},
        "part": f.part,
        "separation_m": f.separation_m,
        "vertical_gap_m": f.vertical_gap_m,
        "overlap": None if f.overlap is None else {
            "start": format_time(f.overlap.start), "end": format_time(f.overlap.end)},
        "time_gap_s": f.time_gap_s,
        "conservative": f.conservative,
        "explanation": f.explanation,
    }


def encode_result(r: CheckResult) -> dict[str, Any]:
    return {"verdict": r.verdict.value, "findings": [encode_finding(f) for f in r.findings]}
