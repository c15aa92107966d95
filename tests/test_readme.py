"""The README's Python example runs and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re

from tests.conftest import ROOT


def test_readme_example_runs_and_prints_the_documented_result() -> None:
    text = (ROOT / "README.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(code.strip().splitlines()) <= 14
    printed = re.search(r"prints `(.*?)`", text)
    assert printed is not None
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, "README.md", "exec"), {})
    assert buf.getvalue().strip() == printed.group(1)


def test_readme_has_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    [block] = re.findall(r"```sh\n(.*?)```", text, re.S)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    assert commands == ["scripts/demo", "scripts/test"]
