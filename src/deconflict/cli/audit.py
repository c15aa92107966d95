"""``deconflict audit``: verify the log and its checkpoints, keys, receipts.

Registered on the ``audit`` group of :mod:`deconflict.cli.app` by :func:`register`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from deconflict.errors import InvalidInput, StoreError, TamperedLog
from deconflict.store.note import NoteError, Verifier, parse_verifier
from deconflict.store.open import open_store, store_url
from deconflict.store.protocol import Store
from deconflict.store.receipts import ProofError, verify_receipt

out = Console()

KeyOption = Annotated[list[str] | None, typer.Option(
    "--key", help="The log's public key (name+id+base64), or a file holding one per line. Repeatable.")]
HeldOption = Annotated[list[Path] | None, typer.Option(
    "--checkpoint", help="A signed checkpoint you hold (a file): the log must still extend it. Repeatable.",
    exists=True, dir_okay=False)]


StoreOpt = Annotated[Path | None, typer.Option("--store", dir_okay=False)]
PartyOpt = Annotated[str, typer.Option("--party", help="The party that reports or acts.")]


def read_keys(keys: list[str] | None) -> list[Verifier]:
    found: list[Verifier] = []
    for k in keys or []:
        p = Path(k)
        lines = p.read_text("utf-8").splitlines() if p.is_file() else [k]
        for line in lines:
            if line.strip():
                try:
                    found.append(parse_verifier(line))
                except NoteError as exc:
                    raise InvalidInput("--key", str(exc)) from None
    return found


def _any_store(store: Path | None, default_store: Callable[[Path | None], Path]) -> Store:
    """The store ``--store`` names, SQLite or PostgreSQL (never a file named after a URL)."""
    return open_store(store if store_url(store) is not None else default_store(store))


def register(audit_app: typer.Typer, errors: Callable[[], AbstractContextManager[None]],
             default_store: Callable[[Path | None], Path]) -> None:
    key_app = typer.Typer(help="The log's signing key: export the public key, rotate.", no_args_is_help=True)
    receipt_app = typer.Typer(help="Receipts: a party's proof that the log holds its event.",
                              no_args_is_help=True)
    audit_app.add_typer(key_app, name="key")
    audit_app.add_typer(receipt_app, name="receipt")

    def verify(path: Path | None, checkpoint: list[Path] | None, key: list[str] | None, as_json: bool) -> None:
        with errors():
            held = [p.read_text("utf-8") for p in checkpoint or []]
            with _any_store(path, default_store) as st:
                n = st.verify()
                report = st.vouch(held=held, keys=read_keys(key))
            if as_json:
                out.print_json(json.dumps({
                    "ok": True, "events": report.events, "root": report.root.hex(),
                    "checkpoints_checked": report.checkpoints_checked, "published": report.published,
                    "state_rows": report.state_rows, "forks_reported": report.forks,
                    "log_starts": report.first_recorded_at or None,
                    "log_ends": report.last_recorded_at or None}))
                return
            out.print(f"[bold green]ok[/]: {n} events, hash chain intact")
            out.print(f"  Merkle root {report.root.hex()} matches the signed checkpoints of sizes "
                      f"{', '.join(map(str, sorted(set(report.checkpoints_checked)))) or '(none yet)'}")
            out.print(f"  state tables: {report.state_rows} rows, each the log's last word on its object")
            if report.first_recorded_at:
                out.print(f"  the log starts at {report.first_recorded_at} and ends at {report.last_recorded_at}")
            for fork in report.forks:
                out.print(f"[bold red]fork reported[/] at event {fork[0]} by {fork[1]}: two checkpoints of sizes "
                          f"{fork[2]} signed by this log that no single history explains")
            if report.forks:
                raise TamperedLog(report.forks[0][0], "witnesses hold signed checkpoints this log contradicts")

    @audit_app.command("verify")
    def audit_verify(store: Annotated[Path | None, typer.Option(
                         "--store", dir_okay=False,
                         help="An SQLite file or a postgresql:// URL. Default: deconflict.sqlite3 in your data "
                              "directory.")] = None,
                     checkpoint: HeldOption = None, key: KeyOption = None,
                     bundle: Annotated[Path | None, typer.Option(
                         "--bundle", dir_okay=False,
                         help="Verify an investigator's bundle (audit bundle) offline instead of a store.")] = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Re-hash the whole event log, check the Merkle tree against every signed checkpoint
        (the store's, the last published one, those you hold) and the state tables against the
        log; exit 1 naming the first altered event."""
        if bundle is not None:
            verify_bundle_cli(bundle, key)
            return
        verify(store, checkpoint, key, as_json)

    def verify_bundle_cli(bundle: Path, key: list[str] | None) -> None:
        from deconflict.store.bundle import verify_bundle

        with errors():
            r = verify_bundle(bundle, read_keys(key))
            out.print(f"[bold green]ok[/]: bundle {bundle}: {r.log.events} events, hash chain intact, Merkle root "
                      f"{r.log.root.hex()} matches the signed checkpoints of sizes "
                      f"{', '.join(map(str, sorted(set(r.log.checkpoints_checked)))) or '(none)'}")
            out.print(f"  {r.cosignatures} cosignatures by {', '.join(r.witnesses) or 'no witness'} verify; "
                      f"state tables: {r.log.state_rows} rows, each the log's last word")
            if r.log.first_recorded_at:
                out.print(f"  the log starts at {r.log.first_recorded_at} and ends at {r.log.last_recorded_at}")
            if not r.pinned:
                out.print("[yellow]note[/]: checked with the keys inside the bundle; give the log's key with --key "
                          "(from `audit key export`, or a party's witness folder) to pin it")
            for fork in r.log.forks:
                out.print(f"[bold red]fork reported[/] at event {fork[0]} by {fork[1]} (sizes {fork[2]})")
            if r.log.forks:
                raise TamperedLog(r.log.forks[0][0], "witnesses hold signed checkpoints this log contradicts")

    @audit_app.command("bundle")
    def audit_bundle(output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False,
                                                          help="The bundle file to write (new).")],
                     store: Annotated[Path | None, typer.Option("--store", dir_okay=False)] = None) -> None:
        """Write an investigator's bundle: the log, checkpoints, cosignatures and public keys in one file."""
        from deconflict.store.bundle import write_bundle

        with errors():
            with _any_store(store, default_store) as st:
                st.vouch()
                n = write_bundle(st, output)
            out.print(f"wrote {output}: {n} events; verify with: deconflict audit verify --bundle {output} --key KEY")

    @audit_app.command("follow")
    def audit_follow(
        url: Annotated[str, typer.Option("--url", help="The service, e.g. http://127.0.0.1:8000")],
        token: Annotated[str, typer.Option("--token", help="Your party's credential (or @FILE holding it).")],
        state: Annotated[Path, typer.Option("--state", file_okay=False,
                                            help="The witness's folder (its key and the checkpoints it holds).")
                         ] = Path("deconflict-witness"),
        key: KeyOption = None,
        every: Annotated[float, typer.Option("--every", min=0.1, help="Seconds between rounds.")] = 60.0,
        rounds: Annotated[int, typer.Option("--rounds", min=0, help="Stop after N rounds (0: run on).")] = 0,
    ) -> None:
        """Witness the log as a party: check each checkpoint extends the last one held, keep it,
        cosign it; exit 1 with the evidence if the log was rewritten."""
        from deconflict.cli.follow import ForkFound, Witness, read_token

        with errors():
            w = Witness(url, read_token(token), state, read_keys(key))
            try:
                n = 0
                while True:
                    try:
                        r = w.round()
                    except ForkFound as exc:
                        raise TamperedLog(0, str(exc)) from None
                    since = f" (extends {r.previous})" if r.previous is not None else " (first held)"
                    out.print(f"[green]ok[/]: checkpoint of {r.checkpoint.size} events{since}"
                              f"{', cosigned' if r.cosigned else ''}")
                    n += 1
                    if rounds and n >= rounds:
                        break
                    time.sleep(every)
            finally:
                w.close()

    @key_app.command("export")
    def key_export(store: Annotated[Path | None, typer.Option("--store", dir_okay=False)] = None) -> None:
        """Print the log's public keys, current first (give them to every party)."""
        with errors():
            with _any_store(store, default_store) as st:
                keys = st.verifiers()
            if not keys:
                raise StoreError("the store has no signing key yet")
            for v in keys:
                typer.echo(v.encode())

    @key_app.command("rotate")
    def key_rotate(store: Annotated[Path | None, typer.Option("--store", dir_okay=False)] = None) -> None:
        """Make a new signing key (same origin); old checkpoints stay verifiable. Restart servers."""
        with errors():
            with _any_store(store, default_store) as st:
                new = st.rotate_key()
            typer.echo(new.encode())

    @audit_app.command("checkpoint")
    def audit_checkpoint(store: Annotated[Path | None, typer.Option("--store", dir_okay=False)] = None) -> None:
        """Print the latest signed checkpoint (keep it: a later log must extend it)."""
        with errors():
            with _any_store(store, default_store) as st:
                cp = st.checkpoint()
            if cp is None:
                raise StoreError("the log is empty: no checkpoint yet")
            typer.echo(cp[1], nl=False)

    @receipt_app.command("verify")
    def receipt_verify(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                       key: KeyOption = None) -> None:
        """Verify a receipt offline against the log's public key."""
        with errors():
            keys = read_keys(key)
            if not keys:
                raise InvalidInput("--key", "give the log's public key")
            try:
                data = json.loads(file.read_text("utf-8"))
            except ValueError as exc:
                raise InvalidInput(str(file), f"is not JSON: {exc}") from None
            receipt = data.get("receipt", data) if isinstance(data, dict) else data
            try:
                cp = verify_receipt(receipt, keys)
            except (ProofError, NoteError) as exc:
                raise TamperedLog(int(receipt.get("seq", 0)) if isinstance(receipt, dict) else 0,
                                  f"the receipt does not verify: {exc}") from None
            out.print(f"[bold green]ok[/]: event {receipt['seq']} ({receipt.get('type', '?')}) is leaf "
                      f"{receipt['seq'] - 1} of the log {cp.origin} at size {cp.size}, signed")


def register_incidents(app: typer.Typer, errors: Callable[[], AbstractContextManager[None]],
                       default_store: Callable[[Path | None], Path]) -> None:
    """``deconflict incident``: record incidents (each step an event) and write the review."""
    incident_app = typer.Typer(help="Incidents: record them, follow them until closed, review them.",
                               no_args_is_help=True)
    app.add_typer(incident_app, name="incident")

    def _at(text: str) -> tuple[float, float]:
        try:
            lat, lon = (float(v) for v in text.split(","))
        except ValueError:
            raise InvalidInput("--at", f"must be LAT,LON in degrees, e.g. 35.36,40.32; got {text!r}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidInput("--at", "latitude must be within ±90 and longitude within ±180")
        return lat, lon

    def _append(store: Path | None, draft_type: str, party: str, subject: str, payload: dict[str, object]) -> int:
        from deconflict.service.deconflict import Deconflict
        from deconflict.store.events import EventDraft

        with Deconflict(_any_store(store, default_store)) as svc:
            if party not in svc.parties():
                raise InvalidInput("--party", f"no party {party!r} in the store")
            [e] = svc.append([EventDraft(draft_type, party, subject, payload)])
            return e.seq

    @incident_app.command("open")
    def incident_open(ident: Annotated[str, typer.Argument(help="The incident's id, e.g. I1.")],
                      party: PartyOpt, at: Annotated[str, typer.Option("--at", help="LAT,LON")],
                      time_: Annotated[str, typer.Option("--time", help="When it happened (UTC).")],
                      description: Annotated[str, typer.Option("--description")],
                      radius: Annotated[float, typer.Option("--radius", min=0)] = 0.0,
                      store: StoreOpt = None) -> None:
        """Report an incident: its place, time and description (an event in the log)."""
        from deconflict.model.party import check_id
        from deconflict.store.documents import parse_time

        with errors():
            check_id(ident, "id")
            lat, lon = _at(at)
            when = parse_time(time_, "--time")
            seq = _append(store, "incident.reported", party, ident, {
                "id": ident, "at": {"lat": lat, "lon": lon}, "radius_m": radius,
                "time": when.isoformat().replace("+00:00", "Z"), "description": description})
            out.print(f"incident {ident} recorded as event {seq}")

    def _step(kind: str) -> Callable[..., None]:
        def step(ident: Annotated[str, typer.Argument()], party: PartyOpt,
                 text: Annotated[str, typer.Option("--text")], store: StoreOpt = None) -> None:
            with errors():
                seq = _append(store, f"incident.{kind}", party, ident, {"id": ident, "text": text})
                out.print(f"incident {ident} {kind}: event {seq}")
        step.__doc__ = f"Record that the incident was {kind} (an event in the log)."
        return step

    incident_app.command("note")(_step("noted"))
    incident_app.command("close")(_step("closed"))

    @incident_app.command("report")
    def incident_report(
        at: Annotated[str, typer.Option("--at", help="LAT,LON of the place, e.g. 35.36,40.32")],
        radius: Annotated[float, typer.Option("--radius", min=1, help="Metres around it.")],
        from_: Annotated[str, typer.Option("--from", help="Start of the scenario-time window (UTC).")],
        to: Annotated[str, typer.Option("--to", help="End of the window (UTC).")],
        output: Annotated[list[Path], typer.Option("-o", "--output", help="report.html and/or report.pdf")],
        party: Annotated[str | None, typer.Option("--party", help="Only what this party could see.")] = None,
        store: StoreOpt = None,
    ) -> None:
        """Write the incident review (HTML with a map, PDF) from the verified log."""
        from deconflict.cli.incident_report import render_html, write_pdf
        from deconflict.service.incident import Place, review
        from deconflict.store.documents import parse_time

        with errors():
            lat, lon = _at(at)
            start, end = parse_time(from_, "--from"), parse_time(to, "--to")
            if end < start:
                raise InvalidInput("--to", "must not be before --from")
            for o in output:
                if o.suffix.lower() not in (".html", ".pdf"):
                    raise InvalidInput("--output", f"{o} must end in .html or .pdf")
            with _any_store(store, default_store) as st:
                r = review(st, Place(lat, lon, radius), start, end, party)
            text = render_html(r)
            for o in output:
                if o.suffix.lower() == ".html":
                    o.write_text(text, "utf-8")
                else:
                    write_pdf(text, o)
                out.print(f"wrote {o}")
