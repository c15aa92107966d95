"""The ``deconflict`` command line: demo, scenarios, checks, import/export, audit.

Exit codes: 0 success; 1 a scenario expectation failed, or the audit found
tampering; 2 bad input or usage (nothing written); 3 a check found a
violation, conflict or required coordination; 70 an internal error.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deconflict.codecs import geojson
from deconflict.codecs.scenario import Scenario, is_scenario, load_into, load_scenario, read_json, run_checks
from deconflict.errors import DeconflictError, InvalidInput, TamperedLog
from deconflict.model import FindingKind, Measure, Party, PartyKind
from deconflict.service import measure_life
from deconflict.service.auth import Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.wire import encode_result
from deconflict.store.documents import parse_time
from deconflict.store.open import open_store, store_url
from deconflict.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from deconflict.cli.child import Child
    from deconflict.cli.tracks import TracksOptions

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
credential_app = typer.Typer(help="Issue and revoke credentials.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
app.add_typer(audit_app, name="audit")
app.add_typer(party_app, name="party")
app.add_typer(credential_app, name="credential")
cert_app = typer.Typer(help="TAK client certificates (data packages ATAK and WinTAK import).", no_args_is_help=True)
app.add_typer(cert_app, name="cert")

out = Console()
err = Console(stderr=True)

EXIT_EXPECTATION = 1
EXIT_INPUT = 2
EXIT_FINDINGS = 3
EXIT_INTERNAL = 70

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Store: an SQLite file, or a postgresql:// URL for the shared server store. "
                 "Default: deconflict.sqlite3 in your data directory.",
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
    st = open_store(store)
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
def demo(
    as_json: JsonOption = False,
    serve_: Annotated[bool, typer.Option("--serve", help="Then serve the map on the demo's store until Ctrl-C, "
                                                          "printing each party's sign-in token.")] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: port to listen on.")] = 8470,
) -> None:
    """Run the bundled Euphrates 2018 scenario on a fresh temporary store."""
    with errors():
        if serve_:
            from deconflict.cli import demo_serve

            demo_serve.run(lambda store: _run(load_scenario(bundled_scenario()), store, as_json), host, port)
            return
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
        if is_scenario(data):
            raise InvalidInput(str(file), "is a scenario file, not GeoJSON: run its checks with "
                               f"`deconflict scenario run {file}`")
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
        if is_scenario(data):
            raise InvalidInput(str(file), "is a scenario file (parties, measures, declarations and checks), not "
                               f"GeoJSON: load it into a store and run its checks with `deconflict scenario run "
                               f"{file} --store PATH`, or see the bundled one on the map with "
                               "`deconflict demo --serve`")
        items = list(geojson.features(data))
        with open_service(store) as service:
            changes: list[Change] = []
            with progress_bar("decoding", len(items)) as tick:
                for i, (path, feat) in enumerate(items):
                    obj = geojson.decode_feature(feat, path or "feature")
                    changes.append(Change(measure=obj) if isinstance(obj, Measure) else Change(declaration=obj))
                    if (i + 1) % 1000 == 0:
                        tick(1000)
            with progress_bar("validating, re-checking and writing", len(changes)):
                try:
                    # Through the hotline: a measure imported over accepted activities
                    # re-checks them and tells both sides, as an agreement does.
                    events = measure_life.import_objects(Hotline(service), changes, actor)
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
    fmt: Annotated[str, typer.Option("--format", help="geojson (RFC 7946) or kml (KML 2.2).")] = "geojson",
) -> None:
    """Export measures and declarations in force as a GeoJSON FeatureCollection or as KML."""
    if fmt not in ("geojson", "kml"):
        with errors():
            raise InvalidInput("--format", f"{fmt!r} is not one of: geojson, kml")
    with errors(), open_service(store) as service:
        if fmt == "kml":
            from deconflict.codecs import kml

            data = kml.document(service.measures(), service.declarations())
            if output is None:
                sys.stdout.buffer.write(data)
            else:
                output.write_bytes(data)
            return
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
    party: Annotated[str | None, typer.Option(
        "--party", help="As this party knew it: only what it could see (default: everything).")] = None,
) -> None:
    """What the store held at a past recording instant, rebuilt from the event log."""
    from deconflict.service.replay import replay

    with errors():
        instant = parse_time(as_of, "--as-of")
        st = open_store(store)
        with st:
            st.vouch()
            seen = replay(st, instant.astimezone(UTC), party)
        snapshot = seen.state
        measures = seen.measures()
        decls = seen.declarations()
        if as_json:
            doc = geojson.feature_collection(measures, decls)
            doc["as_of"] = instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
            doc["parties"] = sorted(snapshot.parties)
            doc["party"] = party
            doc["log_starts"], doc["log_ends"] = seen.log_starts, seen.log_ends
            doc["caveat"] = seen.caveat() or None
            doc["notifications"] = seen.notifications
            emit_json(doc)
            return
        if seen.caveat():
            err.print(f"[bold yellow]note[/]: {seen.caveat()}", highlight=False)
        out.print(f"[bold]State as of {instant.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC[/] (recording time"
                  f"{', as ' + party + ' knew it' if party else ''}; the log starts at {seen.log_starts}): "
                  f"{len(snapshot.parties)} parties, {len(measures)} measures, {len(decls)} declarations")
        for m in measures:
            out.print(f"  measure     {m.id:<12} {m.kind.value:<28} {m.owner:<12} {m.label}")
        for d in decls:
            out.print(f"  declaration {d.id:<12} {d.kind.value:<28} {d.owner:<12} {d.label}")


# -- audit and parties ---------------------------------------------------------------
def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput("--role", f"{role!r} is not one of: {', '.join(r.value for r in Role)}") from None


def _expiry(expires: str | None) -> datetime | None:
    return None if expires is None else parse_time(expires, "--expires").astimezone(UTC)


def _print_token(cred_id: str, token: str, what: str) -> None:
    err.print(f"issued credential {cred_id} for {what}; the token is shown once, keep it safe:")
    sys.stdout.write(token + "\n")


@party_app.command("add")
def party_add(
    party_id: Annotated[str, typer.Argument(help="Short id, e.g. 'coalition'.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    kind: Annotated[str, typer.Option(help="armed_force, humanitarian, agency or other.")] = "other",
    member: Annotated[str, typer.Option(help="First member's name, for its credential.")] = "liaison",
    role: Annotated[str, typer.Option(help="First member's role: viewer, planner or liaison.")] = "liaison",
    expires: Annotated[str | None, typer.Option(help="Credential expiry (UTC), e.g. 2027-01-01T00:00:00Z.")] = None,
    store: StoreOption = None,
) -> None:
    """Add a party and issue its first member's credential (printed once)."""
    with errors():
        try:
            pkind = PartyKind(kind)
        except ValueError:
            raise InvalidInput("--kind", f"{kind!r} is not one of: {', '.join(k.value for k in PartyKind)}") from None
        party = Party(party_id, name or party_id, pkind)
        prole = _role(role)
        with open_service(store) as service:
            hotline = Hotline(service)
            service.add_party(party)
            cred, token = hotline.issue_credential(None, party_id, member, prole, _expiry(expires))
        _print_token(cred.id, token, f"{member} ({prole.value}) of {party_id}")


@credential_app.command("issue")
def credential_issue(
    party: Annotated[str, typer.Argument(help="Party id, or 'admin' for an administrator.")],
    member: Annotated[str, typer.Option(help="Member's name.")],
    role: Annotated[str, typer.Option(help="viewer, planner, liaison (or admin).")] = "planner",
    expires: Annotated[str | None, typer.Option(help="Expiry (UTC), e.g. 2027-01-01T00:00:00Z.")] = None,
    store: StoreOption = None,
) -> None:
    """Issue a credential (printed once; only its hash is stored)."""
    with errors(), open_service(store) as service:
        prole = Role.ADMIN if party == "admin" else _role(role)
        cred, token = Hotline(service).issue_credential(None, party, member, prole, _expiry(expires))
        _print_token(cred.id, token, f"{member} ({prole.value})" + ("" if party == "admin" else f" of {party}"))


@credential_app.command("revoke")
def credential_revoke(credential_id: Annotated[str, typer.Argument()], store: StoreOption = None) -> None:
    """Revoke a credential at once."""
    with errors(), open_service(store) as service:
        Hotline(service).revoke_credential(None, credential_id)
        err.print(f"revoked {credential_id}")


@credential_app.command("list")
def credential_list(store: StoreOption = None) -> None:
    """List credentials (never their tokens)."""
    with errors(), open_service(store) as service:
        for c in Hotline(service).keyring.all():
            state = "revoked" if c.revoked_at else "active"
            out.print(f"{c.id:<14} {c.party or '(admin)':<14} {c.member:<16} {c.role.value:<8} {state}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8470,
    ack_deadline: Annotated[float, typer.Option(help="Minutes before an unanswered notification is overdue.")] = 15.0,
    workers: Annotated[int, typer.Option(
        help="Server processes on the one store (each holds the whole engine in memory).")] = 1,
    store: StoreOption = None,
    cot_tcp: Annotated[int | None, typer.Option("--cot-tcp", help="CoT over TCP on this port (TAK: 8087).")] = None,
    cot_udp: Annotated[int | None, typer.Option("--cot-udp", help="CoT over UDP on this port (TAK: 8087).")] = None,
    cot_tls: Annotated[int | None, typer.Option(
        "--cot-tls", help="CoT over TLS with client certificates (TAK: 8089).")] = None,
    sbs: Annotated[str | None, typer.Option(
        "--sbs", help="SBS-1 BaseStation source HOST:PORT (dump1090: 30003).")] = None,
    tracks: Annotated[bool, typer.Option(
        "--tracks", help="Live tracks over HTTP only (implied by the options above).")] = False,
    track_history_hours: Annotated[float, typer.Option(
        "--track-history-hours", help="How long track history is kept (beside an SQLite store).")] = 6.0,
    track_history_every_s: Annotated[float, typer.Option(
        "--track-history-every-s", help="At most one history point per asset this often.")] = 1.0,
    track_max_assets: Annotated[int, typer.Option(
        "--track-max-assets", help="Live tracks' assets held at most (a flood of new uids evicts the "
        "longest-silent, then is refused).")] = 100_000,
    track_max_assets_per_party: Annotated[int, typer.Option(
        "--track-max-assets-per-party", help="The same, per party.")] = 20_000,
    tiles: Annotated[list[Path] | None, typer.Option(
        "--tiles", help="An MBTiles or PMTiles file (raster or vector) for the map's base; repeatable.")] = None,
    lane: Annotated[bool, typer.Option(
        "--lane/--no-lane", help="Run costly requests (big bodies, the picture, lists, exports) in a process of "
                                 "their own, so they never hold up small ones (it holds its own engine).")] = True,
) -> None:
    """Run the HTTP service on the store (and, with the --cot options, the live tracks)."""

    from deconflict.cli import worker
    from deconflict.cli.tracks import TracksOptions

    with errors():
        live = TracksOptions.parse(cot_tcp, cot_udp, cot_tls, sbs, tracks, host, track_history_hours,
                                   track_history_every_s, track_max_assets, track_max_assets_per_party)
        if not 0 < ack_deadline <= 7 * 24 * 60:
            raise InvalidInput("--ack-deadline", "must be between 0 and 10080 minutes")
        if not 1 <= workers <= 64:
            raise InvalidInput("--workers", "must be between 1 and 64")
        from deconflict.service.lane import costly_share

        costly_share()  # an operator's share refused here, with the reason, not by a lane that keeps dying
        path = store or SQLiteStore.default_path()
        tile_files = [p.absolute() for p in tiles or []]
        from deconflict.web.tiles import open_tiles

        for p in tile_files:  # refused here, before serving, with the reason
            open_tiles(p)
        # uvicorn drains requests on SIGTERM/SIGINT, then re-raises the signal
        # to whatever handler was there before; this one makes that a clean exit.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_a: None)
        common: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "access_log": False,
                                  "timeout_graceful_shutdown": 5}
        os.environ[worker.ENV_STORE] = store_url(path) or str(path.absolute())
        os.environ[worker.ENV_ACK_MINUTES] = repr(ack_deadline)
        os.environ[worker.ENV_TILES] = json.dumps([str(p) for p in tile_files])
        if lane:  # workers that can hand a connection over to the lane (service/handover.py)
            common["http"] = "deconflict.service.handover:HandingOver"
        _serve(path, workers, ack_deadline, live, tile_files, common, lane)
        err.print("deconflict stopped; every acknowledged change is in the store")


def _child_log(message: str) -> None:
    err.print(f"[bold yellow]serve[/]: {message}", highlight=False)


def _start_lane(path: Path, keeps: bool) -> Child:
    """The costly lane (service/lane.py), started once the store opens (so a store
    that cannot be opened is refused by ``serve`` itself, with the reason), and
    after the tracker (it forwards the tracks routes as the workers do).
    ``keeps``: it serves every route a worker does, so a connection handed over
    may stay with it (service/handover.py)."""
    from deconflict.cli.lane import ENV_LANE_KEEPS, lane

    with open_store(path) as st:
        st.check_signing()
    return lane({**os.environ, ENV_LANE_KEEPS: "1" if keeps else ""}, _child_log).start()


def _serve(path: Path, workers: int, ack_deadline: float, live: TracksOptions | None,
           tile_files: list[Path], common: dict[str, Any], lane: bool) -> None:
    """Serve with ``workers`` processes (and the costly lane, with ``lane``)."""
    costly: Child | None = None
    try:
        if workers == 1:
            # With live tracks the tracker runs inside this one process, which the
            # lane cannot forward to: handed-over connections are closed after
            # their request, so the next comes back here.
            costly = _start_lane(path, keeps=live is None) if lane else None
            _serve_one(path, ack_deadline, live, tile_files, common, costly)
        else:
            _serve_many(path, workers, live, common, lambda: _start_lane(path, keeps=True) if lane else None)
    finally:
        if costly is not None:
            costly.stop()


def _serve_one(path: Path, ack_deadline: float, live: TracksOptions | None,
               tile_files: list[Path], common: dict[str, Any], costly: Child | None) -> None:
    import uvicorn

    from deconflict.cli import worker

    lane_socket = None if costly is None else costly.socket
    service = open_service(path)
    service.store.check_signing()  # a host without the log's key says so now, not at each submit
    app_ = worker.build(service, timedelta(minutes=ack_deadline),
                        extend=None if live is None else lambda a, h: live.start(a, h, path), tiles=tile_files,
                        lane=lane_socket)
    err.print(f"deconflict serving {len(service.engine)} declarations on http://{common['host']}:{common['port']}")
    if live is not None:
        err.print(f"live tracks: {live.describe()}")
    try:
        uvicorn.run(app_, workers=1, **common)
    finally:
        if live is not None:
            live.stop()
        service.close()


def _serve_many(path: Path, workers: int, live: TracksOptions | None, common: dict[str, Any],
                start_lane: Callable[[], Child | None]) -> None:
    import uvicorn

    from deconflict.cli import worker

    with open_store(path) as st:  # created or refused here, once, with a clear error
        st.check_signing()
        count = st.count_declarations()
    tracker = costly = None
    try:
        if live is not None:
            # One tracker for all workers, in a process of its own (docs/tracks.md).
            from deconflict.cli.tracks import ENV_TRACKS, ENV_TRACKS_STORE, tracker_process

            tracker = tracker_process({**os.environ, ENV_TRACKS: live.to_json(), ENV_TRACKS_STORE: str(path)},
                                      _child_log).start()
            os.environ[worker.ENV_TRACKS_SOCKET] = tracker.socket
        costly = start_lane()  # after the tracker: it forwards the tracks routes too
        os.environ[worker.ENV_LANE] = "" if costly is None else costly.socket
        err.print(f"deconflict serving {count} declarations on http://{common['host']}:{common['port']} "
                  f"with {workers} workers")
        uvicorn.run("deconflict.cli.worker:worker_app", factory=True, workers=workers, **common)
    finally:
        if costly is not None:
            costly.stop()
        if tracker is not None:
            tracker.stop()


@cert_app.command("issue")
def cert_issue(
    party: Annotated[str, typer.Argument(help="Party id.")],
    member: Annotated[str, typer.Option(help="Member's name (the certificate's CN).")],
    host: Annotated[str, typer.Option(help="The server's address as the clients reach it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The server's CoT TLS port.")] = 8089,
    role: Annotated[str, typer.Option(help="viewer, planner or liaison.")] = "planner",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Data package to write (zip).")] = None,
    store: StoreOption = None,
) -> None:
    """Issue a TAK client certificate (and its credential) as a data package ATAK and WinTAK import.

    The PKCS#12 password is printed once; revoking the credential cuts the client off."""
    from deconflict.cli.tracks import issue_package

    with errors():
        path = store or SQLiteStore.default_path()
        with open_service(path) as service:
            cred_id, package, password = issue_package(service, path, party, member, _role(role), host, port)
        target = output or Path(f"deconflict-{party}-{member}.zip")
        target.write_bytes(package)
        target.chmod(0o600)
        err.print(f"issued credential {cred_id} and a client certificate for {member} of {party}: {target}; "
                  "the PKCS#12 password is shown once:")
        sys.stdout.write(password + "\n")


@party_app.command("list")
def party_list(store: StoreOption = None) -> None:
    """List parties."""
    with errors(), open_store(store) as st:
        for p in st.parties():
            out.print(f"{p.id:<16} {p.kind.value:<14} {p.name}")


from deconflict.cli.notifications import notifications_app  # noqa: E402 (it reads this module's helpers)

app.add_typer(notifications_app, name="notifications")

from deconflict.cli import audit as _audit  # noqa: E402  (registers on audit_app)

_audit.register(audit_app, errors, lambda p: p or SQLiteStore.default_path())
_audit.register_incidents(app, errors, lambda p: p or SQLiteStore.default_path())


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
