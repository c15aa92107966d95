"""Rich rendering of check results for people at a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from deconflict.codecs.scenario import CheckOutcome
from deconflict.model import CheckResult, FindingKind

STYLE = {
    FindingKind.CLEAR: "bold green",
    FindingKind.CAUTION: "bold yellow",
    FindingKind.COORDINATION_REQUIRED: "bold cyan",
    FindingKind.CONFLICT: "bold red",
    FindingKind.VIOLATION: "bold white on red",
}


def verdict_text(kind: FindingKind) -> Text:
    # Words and not only colours: the verdict must survive colour-blindness and
    # monochrome terminals.
    return Text(kind.value.upper().replace("_", " "), style=STYLE[kind])


def findings_table(result: CheckResult) -> Table | None:
    """The findings, one row each; the explanations follow the table, numbered,
    so that they stay readable on an 80-column terminal or a pipe."""
    if not result.findings:
        return None
    table = Table(show_header=True, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("finding", no_wrap=True)
    table.add_column("object", no_wrap=True)
    table.add_column("owner", no_wrap=True)
    table.add_column("rule", overflow="fold")
    table.add_column("sep. m", justify="right")
    table.add_column("vert. m", justify="right")
    for i, f in enumerate(result.findings, 1):
        table.add_row(
            str(i),
            verdict_text(f.kind),
            f.object_id or "(not shared)",
            f.owner,
            f.rule,
            f"{f.separation_m:,.0f}",
            "" if f.vertical_gap_m is None else f"{f.vertical_gap_m:,.0f}",
        )
    return table


def print_findings(console: Console, result: CheckResult) -> None:
    table = findings_table(result)
    if table is None:
        console.print("  no findings, not even a caution\n")
        return
    console.print(table)
    for i, f in enumerate(result.findings, 1):
        console.print(Padding(Text(f"{i}. {f.explanation}"), (0, 0, 0, 2)))
    console.print()


def print_result(console: Console, title: str, result: CheckResult) -> None:
    head = Text.assemble(verdict_text(result.verdict), "  ", Text(title, style="bold"))
    console.print(head)
    print_findings(console, result)


def print_outcome(console: Console, o: CheckOutcome) -> None:
    c = o.check
    mark = Text("expected", style="green") if o.ok else Text("UNEXPECTED", style="bold red")
    title = f"{c.id} by {c.by}: {c.activity.label or c.activity.kind.value}"
    head = Text.assemble(verdict_text(o.result.verdict), "  ", Text(title, style="bold"), "  ", mark)
    console.print(head)
    for failure in o.failures:
        console.print(Text(f"  ! {failure}", style="bold red"))
    print_findings(console, o.result)
