"""``deconflict demo --serve``: from the demo to the map in one command.

The bundled scenario is loaded into a store in a new temporary folder, its
checks are run and shown as ``deconflict demo`` shows them, then a credential
is issued for a liaison of each party (and an administrator) and the map and
API are served on that store until Ctrl-C, after which the folder is removed.
The map signs in with a token (pasted on its sign-in screen), so each party's
sign-in is printed as the map's address and that party's token.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.sqlite import SQLiteStore

#: Minutes before an unanswered notification is overdue, as `deconflict serve` has it.
ACK_DEADLINE = timedelta(minutes=15)


def sign_in_lines(url: str, tokens: list[tuple[str, str, str]]) -> list[str]:
    """What is printed: the map's address, then one line per party: id, role, token."""
    width = max(len(p) for p, _r, _t in tokens)
    lines = [f"The map is at {url}/ ; sign in there with one of these tokens (each sees what that party may see):"]
    lines += [f"  {party:<{width}}  {role:<8} {token}" for party, role, token in tokens]
    lines.append("Press Ctrl-C to stop; the temporary store is then deleted.")
    return lines


def run(load: Callable[[Path], None], host: str, port: int) -> None:
    """``load(store)`` fills a new store (and shows the demo), then serve it until interrupted."""
    import uvicorn

    from deconflict.cli import worker

    folder = Path(tempfile.mkdtemp(prefix="deconflict-demo-"))
    try:
        store = folder / "demo.sqlite3"
        load(store)
        service = Deconflict(SQLiteStore(store))
        try:
            hotline = Hotline(service)
            tokens = [(p.id, Role.LIAISON.value,
                       hotline.issue_credential(None, p.id, "demo-liaison", Role.LIAISON)[1])
                      for p in sorted(service.parties().values(), key=lambda p: p.id)]
            tokens.append(("admin", Role.ADMIN.value, hotline.issue_credential(None, "", "demo-admin", Role.ADMIN)[1]))
            app = worker.build(service, ACK_DEADLINE)
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            sys.stdout.write("\n".join(sign_in_lines(f"http://{shown}:{port}", tokens)) + "\n")
            sys.stdout.flush()
            # uvicorn drains on SIGINT/SIGTERM, then re-raises the signal to the
            # previous handler: a no-op one makes that a clean exit.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_a: None)
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                        timeout_graceful_shutdown=5)
        finally:
            service.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sys.stdout.write("deconflict demo stopped; the temporary store is deleted\n")
    sys.stdout.flush()
