"""``deconflict notifications``: a party's notifications and acknowledgements, on the
server's machine (the local administrator reads the store, as ``credential list`` does).

``list`` prints them with their references (``DC-000123``), ``export`` writes the
CSV that ``GET /v1/exports/notifications`` serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deconflict.service import conversation
from deconflict.service.auth import Principal, Role

notifications_app = typer.Typer(help="A party's notifications and acknowledgements.", no_args_is_help=True)
LOCAL_ADMIN = Principal("local", "", "admin", Role.ADMIN)

PartyOption = Annotated[str | None, typer.Option("--party", help="Only this party's (received and sent).")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="Store file (SQLite).")]


@notifications_app.command("list")
def notifications_list(party: PartyOption = None, store: StoreOpt = None) -> None:
    """Reference, kind, to, from, status and summary of each notification."""
    from deconflict.cli.app import errors, open_service, out
    from deconflict.service.hotline import Hotline

    with errors(), open_service(store) as service:
        for row in conversation.export_rows(Hotline(service), LOCAL_ADMIN, party):
            out.print(f"{row['reference']:<11} {row['kind']:<17} {row['party']:<12} {row['from_party']:<12} "
                      f"{row['status']:<12} {row['summary']}", markup=False, highlight=False, soft_wrap=True)


@notifications_app.command("export")
def notifications_export(
    party: PartyOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    store: StoreOpt = None,
) -> None:
    """The CSV of notifications and their answers (as the API serves it)."""
    import sys

    from deconflict.cli.app import errors, open_service
    from deconflict.service.hotline import Hotline

    with errors(), open_service(store) as service:
        text = conversation.export_csv(Hotline(service), LOCAL_ADMIN, party)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
