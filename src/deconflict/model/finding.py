"""Findings, verdicts and check results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FindingKind(StrEnum):
    """Ordered from least to most severe; a verdict is the worst finding."""

    CLEAR = "clear"
    CAUTION = "caution"
    COORDINATION_REQUIRED = "coordination_required"
    CONFLICT = "conflict"
    VIOLATION = "violation"

    @property
    def severity(self) -> int:
        return _ORDER[self]


_ORDER = {k: i for i, k in enumerate(FindingKind)}


@dataclass(frozen=True, slots=True)
class TimeSpan:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    rule: str
    object_id: str
    object_type: str  # "declaration" or "measure"
    object_kind: str  # e.g. "site", "no_fire_area"
    owner: str
    separation_m: float
    vertical_gap_m: float | None
    overlap: TimeSpan | None
    time_gap_s: float
    explanation: str
    conservative: bool = False
    object_label: str = ""
    part: str = ""  # which part of the activity: "effects", "trajectory", "leg 2", ...


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: FindingKind
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, findings: list[Finding]) -> CheckResult:
        ordered = sorted(
            findings, key=lambda f: (-f.kind.severity, f.separation_m, f.object_id, f.rule)
        )
        verdict = ordered[0].kind if ordered else FindingKind.CLEAR
        return cls(verdict, tuple(ordered))
