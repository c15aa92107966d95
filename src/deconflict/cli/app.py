"""The ``deconflict`` command line: demo, scenarios, checks, import/export, audit.

Exit codes: 0 success; 1 a scenario expectation failed, or the audit found
tampering; 2 bad input or usage (nothing written); 3 a check found a
violation, conflict or required coordination; 70 an internal error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deconflict.codecs import geojson
from deconflict.codecs.findings import encode_result
from deconflict.codecs.scenario import Scenario, load_into, load_scenario, read_json, run_checks
from deconflict.errors import DeconflictError, InvalidInput, TamperedLog
from deconflict.model import FindingKind, Measure, Party, PartyKind
from deconflict.service.deconflict import Change, Deconflict
from deconflict.store.documents import parse_time
from deconflict.store.sqlite import SQLiteStore

app = typer.Typer(
    name="deconflict",
    help="Deconfliction between parties that share a battlespace: 4D checks of planned "
    "activities against declared sites, movements, flights, fires and agreed measures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Run scenario files (parties, measures, declarations, checks).",
                           no_args_is_help=True)
audit_app = typer.Typer(help="Verify the tamper-evident event log.", no_args_is_help=True)
party_app = typer.Typer(help="Manage parties.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
app.add_typer(audit_app, name="audit")
app.add_typer(party_app, name="party")

out = Console()
err = Console(stderr=True)

EXIT_EXPECTATION = 1
EXIT_INPUT = 2
EXIT_FINDINGS = 3
EXIT_INTERNAL = 70

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Store file (SQLite). Default: deconflict.sqlite3 in your data directory.",
                 dir_okay=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """One place where package errors become exit codes and one-line messages."""
    try:
        yield
    except InvalidInput as exc:
        fail(EXIT_INPUT, f"{exc.field}: {exc.reason}" if not exc.object_id else str(exc))
    except TamperedLog as exc:
        fail(EXIT_EXPECTATION, f"the event log has been altered: {exc}")
    except DeconflictError as exc:
        fail(EXIT_INPUT, str(exc))
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("DECONFLICT_DEBUG"):
            raise
        fail(EXIT_INTERNAL, f"internal error ({type(exc).__name__}: {exc}); "
             "set DECONFLICT_DEBUG=1 for the traceback and please report it")


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; silent when stderr is piped or in CI."""
    if not err.is_terminal or total == 0:
        yield lambda _n: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def open_service(store: Path | None) -> Deconflict:
    path = store or SQLiteStore.default_path()
    st = SQLiteStore(path)
    with progress_bar("building the index", st.count_declarations()) as tick:
        return Deconflict(st, progress=tick)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# -- demo and scenarios --------------------------------------------------------------
def bundled_scenario() -> Path:
    ref = resources.files("deconflict") / "data" / "euphrates-2018.json"
    return Path(str(ref))


def _run(scenario: Scenario, store: Path | None, as_json: bool) -> None:
    service = open_service(store) if store else Deconflict.temporary()
    with service:
        load_into(service, scenario)
        report = run_checks(service, scenario)
    if as_json:
        emit_json(report.to_json())
    else:
        from deconflict.cli.render import print_outcome

        out.rule(f"[bold]{scenario.name}")
        for o in report.outcomes:
            print_outcome(out, o)
        verdicts: dict[str, int] = {}
        for o in report.outcomes:
            verdicts[o.result.verdict.value] = verdicts.get(o.result.verdict.value, 0) + 1
        tally = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
        style = "bold green" if report.ok else "bold red"
        out.print(f"[{style}]{report.passed} of {len(report.outcomes)} checks as expected[/] ({tally})")
    if not report.ok:
        raise typer.Exit(EXIT_EXPECTATION)


@app.command()
def demo(as_json: JsonOption = False) -> None:
    """Run the bundled Euphrates 2018 scenario on a fresh temporary store."""
    with errors():
        _run(load_scenario(bundled_scenario()), None, as_json)


@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="Scenario JSON file.")],
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Run a scenario file; exit 0 only if every expectation holds.

    Without --store it runs on a fresh temporary store."""
    with errors():
        _run(load_scenario(file), store, as_json)


# -- checks, import, export ------------------------------------------------------------
@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="GeoJSON Feature or FeatureCollection of activities.")],
    by: Annotated[str, typer.Option("--by", help="The party planning the activities.")],
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Check planned activities against everything in force (a dry run: writes nothing).

    Exits 3 when any activity has a violation, conflict or required coordination."""
    with errors():
        data = read_json(file)
        with open_service(store) as service:
            if by not in service.parties():
                raise InvalidInput("--by", f"unknown party {by!r}")
            activities = [
                geojson.decode_activity(f, p or "feature", by, f"activity-{i + 1}")
                for i, (p, f) in enumerate(geojson.features(data))
            ]
            results = [(a, service.check(a)) for a in activities]
        if as_json:
            emit_json([{"id": a.id, "label": a.label, **encode_result(r)} for a, r in results])
        else:
            from deconflict.cli.render import print_result

            for a, r in results:
                print_result(out, f"{a.id}: {a.label or a.kind.value}", r)
        blocking = {FindingKind.VIOLATION, FindingKind.CONFLICT, FindingKind.COORDINATION_REQUIRED}
        if any(r.verdict in blocking for _a, r in results):
            raise typer.Exit(EXIT_FINDINGS)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON of declarations and measures.")],
    store: StoreOption = None,
    actor: Annotated[str, typer.Option(help="Who records the import in the log.")] = "admin",
) -> None:
    """Import declarations and measures from GeoJSON: all of them, or none."""
    with errors():
        data = read_json(file)
        items = list(geojson.features(data))
        with open_service(store) as service:
            changes: list[Change] = []
            with progress_bar("decoding", len(items)) as tick:
                for i, (path, feat) in enumerate(items):
                    obj = geojson.decode_feature(feat, path or "feature")
                    changes.append(Change(measure=obj) if isinstance(obj, Measure) else Change(declaration=obj))
                    if (i + 1) % 1000 == 0:
                        tick(1000)
            with progress_bar("validating and writing", len(changes)) as tick:
                try:
                    events = service.apply(changes, actor, progress=tick)
                except InvalidInput as exc:
                    # Name the feature, not the batch position.
                    if exc.field.startswith("["):
                        idx = exc.field[1:exc.field.index("]")]
                        rest = exc.field[exc.field.index("]") + 1:].lstrip(".")
                        raise InvalidInput(f"features[{idx}].properties.{rest}", exc.reason) from None
                    raise
        err.print(f"imported {len(events)} objects ({sum(1 for c in changes if c.measure)} measures, "
                  f"{sum(1 for c in changes if c.declaration)} declarations)")


@app.command()
def export(
    store: StoreOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Export measures and declarations in force as a GeoJSON FeatureCollection."""
    with errors(), open_service(store) as service:
        doc = geojson.feature_collection(service.measures(), service.declarations())
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")


@app.command()
def state(
    as_of: Annotated[str, typer.Option("--as-of", help="UTC instant, e.g. 2018-02-07T20:05:00Z.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """What the store held at a past instant, rebuilt from the event log."""
    with errors():
        instant = parse_time(as_of, "--as-of")
        st = SQLiteStore(store or SQLiteStore.default_path())
        with st:
            snapshot = st.state_as_of(instant.astimezone(UTC))
        measures = sorted(snapshot.measures.values(), key=lambda m: m.id)
        decls = sorted(snapshot.declarations.values(), key=lambda d: d.id)
        if as_json:
            doc = geojson.feature_collection(measures, decls)
            doc["as_of"] = instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
            doc["parties"] = sorted(snapshot.parties)
            emit_json(doc)
            return
        out.print(f"[bold]State as of {instant.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC[/]: "
                  f"{len(snapshot.parties)} parties, {len(measures)} measures, {len(decls)} declarations")
        for m in measures:
            out.print(f"  measure     {m.id:<12} {m.kind.value:<28} {m.owner:<12} {m.label}")
        for d in decls:
            out.print(f"  declaration {d.id:<12} {d.kind.value:<28} {d.owner:<12} {d.label}")


# -- audit and parties ---------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(store: StoreOption = None) -> None:
    """Re-hash the whole event log; exit 1 naming the first altered event."""
    with errors():
        with SQLiteStore(store or SQLiteStore.default_path()) as st:
            n = st.verify()
        out.print(f"[bold green]ok[/]: {n} events, hash chain intact")


@party_app.command("add")
def party_add(
    party_id: Annotated[str, typer.Argument(help="Short id, e.g. 'coalition'.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    kind: Annotated[str, typer.Option(help="armed_force, humanitarian, agency or other.")] = "other",
    store: StoreOption = None,
) -> None:
    """Add a party."""
    with errors():
        try:
            pkind = PartyKind(kind)
        except ValueError:
            raise InvalidInput("--kind", f"{kind!r} is not one of: {', '.join(k.value for k in PartyKind)}") from None
        party = Party(party_id, name or party_id, pkind)
        with open_service(store) as service:
            service.add_party(party)
        err.print(f"added party {party_id}")


@party_app.command("list")
def party_list(store: StoreOption = None) -> None:
    """List parties."""
    with errors(), SQLiteStore(store or SQLiteStore.default_path()) as st:
        for p in st.parties():
            out.print(f"{p.id:<16} {p.kind.value:<14} {p.name}")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
