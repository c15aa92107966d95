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
from deconflict.store.receipts import ProofError, verify_receipt
from deconflict.store.sqlite import SQLiteStore

out = Console()

KeyOption = Annotated[list[str] | None, typer.Option(
    "--key", help="The log's public key (name+id+base64), or a file holding one per line. Repeatable.")]
HeldOption = Annotated[list[Path] | None, typer.Option(
    "--checkpoint", help="A signed checkpoint you hold (a file): the log must still extend it. Repeatable.",
    exists=True, dir_okay=False)]


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


def register(audit_app: typer.Typer, errors: Callable[[], AbstractContextManager[None]],
             default_store: Callable[[Path | None], Path]) -> None:
    key_app = typer.Typer(help="The log's signing key: export the public key, rotate.", no_args_is_help=True)
    receipt_app = typer.Typer(help="Receipts: a party's proof that the log holds its event.",
                              no_args_is_help=True)
    audit_app.add_typer(key_app, name="key")
    audit_app.add_typer(receipt_app, name="receipt")

    def verify(path: Path, checkpoint: list[Path] | None, key: list[str] | None, as_json: bool) -> None:
        with errors():
            held = [p.read_text("utf-8") for p in checkpoint or []]
            with SQLiteStore(path) as st:
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

    # Replaces the chain-only ``verify`` of app.py with the full check.
    audit_app.registered_commands = [c for c in audit_app.registered_commands if c.name != "verify"]

    @audit_app.command("verify")
    def audit_verify(store: Annotated[Path | None, typer.Option(
                         "--store", dir_okay=False,
                         help="Store file (SQLite). Default: deconflict.sqlite3 in your data directory.")] = None,
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
        verify(default_store(store), checkpoint, key, as_json)

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
            with SQLiteStore(default_store(store)) as st:
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
            with SQLiteStore(default_store(store)) as st:
                keys = st.verifiers()
            if not keys:
                raise StoreError("the store has no signing key yet")
            for v in keys:
                typer.echo(v.encode())

    @key_app.command("rotate")
    def key_rotate(store: Annotated[Path | None, typer.Option("--store", dir_okay=False)] = None) -> None:
        """Make a new signing key (same origin); old checkpoints stay verifiable. Restart servers."""
        with errors():
            with SQLiteStore(default_store(store)) as st:
                new = st.rotate_key()
            typer.echo(new.encode())

    @audit_app.command("checkpoint")
    def audit_checkpoint(store: Annotated[Path | None, typer.Option("--store", dir_okay=False)] = None) -> None:
        """Print the latest signed checkpoint (keep it: a later log must extend it)."""
        with errors():
            with SQLiteStore(default_store(store)) as st:
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
