"""Scenario files: parties, measures, declarations and checks with expected outcomes.

The format is documented in docs/scenario-format.md; the Euphrates file in
``deconflict/data`` is the reference example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deconflict.errors import InvalidInput
from deconflict.model import (
    CautionMargins,
    CheckResult,
    Declaration,
    FindingKind,
    Measure,
    Party,
)
from deconflict.service.deconflict import Change, Deconflict
from deconflict.store.documents import (
    Doc,
    decode_declaration,
    decode_measure,
    decode_party,
)

#: Findings of these kinds count for "excludes"; a caution is allowed.
_BINDING = frozenset({FindingKind.VIOLATION, FindingKind.CONFLICT, FindingKind.COORDINATION_REQUIRED})


@dataclass(frozen=True, slots=True)
class Expectation:
    verdict: FindingKind | None
    includes: tuple[tuple[str, FindingKind], ...] = ()
    excludes: tuple[str, ...] = ()
    disclosure: str = ""

    def failures(self, result: CheckResult) -> list[str]:
        out = []
        if self.verdict is not None and result.verdict is not self.verdict:
            out.append(f"verdict is {result.verdict.value}, expected {self.verdict.value}")
        have = {(f.object_id, f.kind) for f in result.findings}
        for oid, kind in self.includes:
            if (oid, kind) not in have:
                out.append(f"missing finding {oid} {kind.value}")
        for oid in self.excludes:
            bad = [f for f in result.findings if f.object_id == oid and f.kind in _BINDING]
            if bad:
                out.append(f"unexpected finding {oid} {bad[0].kind.value}")
        return out


@dataclass(frozen=True, slots=True)
class ScenarioCheck:
    id: str
    by: str
    activity: Declaration
    expect: Expectation | None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    margins: CautionMargins
    parties: tuple[Party, ...]
    measures: tuple[Measure, ...]
    declarations: tuple[Declaration, ...]
    checks: tuple[ScenarioCheck, ...]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(str(path), f"cannot read file: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(str(path), f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _list(d: Doc, key: str) -> list[Any]:
    v = d.opt(key)
    if v is None:
        return []
    if not isinstance(v, list):
        d.fail(key, f"must be an array, got {type(v).__name__}")
    return v


def decode_margins(data: object, path: str) -> CautionMargins:
    d = Doc(data, path)
    margins = CautionMargins(
        horizontal_m=d.num("caution_horizontal_m", CautionMargins().horizontal_m),
        vertical_m=d.num("caution_vertical_m", CautionMargins().vertical_m),
        minutes=d.num("caution_minutes", CautionMargins().minutes),
    )
    d.finish()
    return margins


def decode_expectation(data: object, path: str) -> Expectation:
    d = Doc(data, path)
    kinds = [k.value for k in FindingKind]
    verdict = d.choice("verdict", FindingKind, kinds) if d.has("verdict") else None
    d.used.add("verdict")
    includes = []
    for i, item in enumerate(_list(d, "includes")):
        where = d.at(f"includes[{i}]")
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise InvalidInput(where, "must be [object id, finding kind]")
        includes.append((item[0], Doc({"k": item[1]}, where).choice("k", FindingKind, kinds)))
    excludes = _list(d, "excludes")
    if not all(isinstance(x, str) for x in excludes):
        d.fail("excludes", "must be a list of object ids")
    disclosure = d.text("disclosure", default="")
    d.finish()
    return Expectation(verdict, tuple(includes), tuple(excludes), disclosure)


def decode_scenario(data: object) -> Scenario:
    d = Doc(data, "")
    name = d.text("name", default="scenario")
    note = d.text("note", default="")
    d.opt("expectations")  # prose for people
    margins = decode_margins(d.opt("settings") or {}, "settings")
    parties = tuple(decode_party(p, f"parties[{i}]") for i, p in enumerate(_list(d, "parties")))
    measures = tuple(decode_measure(m, f"measures[{i}]") for i, m in enumerate(_list(d, "measures")))
    decls = tuple(
        decode_declaration(x, f"declarations[{i}]") for i, x in enumerate(_list(d, "declarations"))
    )
    checks = []
    for i, c in enumerate(_list(d, "checks")):
        cd = Doc(c, f"checks[{i}]")
        cid = cd.text("id", default=f"check-{i + 1}")
        by = cd.text("by")
        activity = decode_declaration(cd.raw("activity"), cd.at("activity"), owner=by, default_id=cid)
        expect = decode_expectation(cd.raw("expect"), cd.at("expect")) if cd.has("expect") else None
        cd.used.add("expect")
        cd.finish()
        checks.append(ScenarioCheck(cid, by, activity, expect))
    d.finish()
    return Scenario(name, margins, parties, measures, decls, tuple(checks), note)


def is_scenario(data: object) -> bool:
    """Whether a JSON document is a scenario (not GeoJSON): an object with no
    ``type`` and the scenario's lists."""
    return (isinstance(data, dict) and "type" not in data
            and any(isinstance(data.get(k), list) for k in ("parties", "checks")))


def load_scenario(path: Path) -> Scenario:
    return decode_scenario(read_json(path))


# -- running -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CheckOutcome:
    check: ScenarioCheck
    result: CheckResult
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class ScenarioReport:
    scenario: Scenario
    outcomes: tuple[CheckOutcome, ...]

    @property
    def passed(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.passed == len(self.outcomes)

    def to_json(self) -> dict[str, Any]:
        from deconflict.service.wire import encode_result

        return {
            "scenario": self.scenario.name,
            "passed": self.passed,
            "total": len(self.outcomes),
            "ok": self.ok,
            "checks": [
                {
                    "id": o.check.id,
                    "by": o.check.by,
                    "label": o.check.activity.label,
                    "kind": o.check.activity.kind.value,
                    **encode_result(o.result),
                    "expected_verdict": None
                    if o.check.expect is None or o.check.expect.verdict is None
                    else o.check.expect.verdict.value,
                    "ok": o.ok,
                    "failures": list(o.failures),
                }
                for o in self.outcomes
            ],
        }


def load_into(service: Deconflict, scenario: Scenario) -> None:
    """Put the scenario's settings, parties, measures and declarations into a
    service (one transaction for all of them)."""
    service.set_margins(scenario.margins)
    changes = [Change(party=p) for p in scenario.parties if p.id not in service.parties()]
    changes += [Change(measure=m) for m in scenario.measures]
    changes += [Change(declaration=d) for d in scenario.declarations]
    service.apply(changes)


def run_checks(service: Deconflict, scenario: Scenario) -> ScenarioReport:
    outcomes = []
    for c in scenario.checks:
        result = service.check(c.activity)
        failures = tuple(c.expect.failures(result)) if c.expect is not None else ()
        outcomes.append(CheckOutcome(c, result, failures))
    return ScenarioReport(scenario, tuple(outcomes))
