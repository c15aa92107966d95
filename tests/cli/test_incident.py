"""`deconflict incident`: an incident recorded and followed, and the review of the
Euphrates strike (C2, overridden) as HTML and PDF, its first page looked at as a picture."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.test_app import run
from tests.service.conftest import started
from tests.service.test_http import activity_doc


def test_the_euphrates_incident_report(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with started(path) as r:
        with r.client("russia", "planner") as russia:
            c2 = russia.submit(activity_doc(r, "C2"), override_reason="SDF fighters massing at Conoco")
        assert c2["overridden"] and "coalition" in c2["notified"]
        with r.client("coalition", "liaison") as coalition:
            [n] = [n for n in coalition.notifications() if n["subject"] == "russia:C2"]  # russia's namespace
            coalition.object(n["id"], "our advisers are at Conoco: do not strike")
    # The incident, reported and followed until closed, each step an event.
    assert run("incident", "open", "I1", "--party", "coalition", "--at", "35.356,40.323", "--time",
               "2018-02-07T20:05:00Z", "--description", "strike hit the plant; advisers nearby",
               store=path).returncode == 0
    assert run("incident", "note", "I1", "--party", "russia", "--text", "strike was on SDF positions",
               store=path).returncode == 0
    assert run("incident", "close", "I1", "--party", "coalition", "--text", "reviewed jointly",
               store=path).returncode == 0
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    res = run("incident", "report", "--at", "35.36,40.32", "--radius", "5000", "--from", "2018-02-07T19:00Z",
              "--to", "2018-02-07T21:00Z", "-o", str(html), "-o", str(pdf), store=path)
    assert res.returncode == 0, res.stderr
    text = html.read_text()
    # C2, submitted as an override, with its reason; the notifications with times; the objection.
    assert "C2" in text and "SDF fighters massing at Conoco" in text and ">violation<" in text
    assert ">yes<" in text  # the override column
    row = next(r for r in text.split("<tr>") if "our advisers are at Conoco" in r and "<td>coalition</td>" in r)
    cells = row.split("<td>")
    sent, delivered, objected = (cells[i].removesuffix("</td>") for i in (5, 6, 8))
    assert sent.startswith("20") and delivered.startswith("20") and objected.startswith("20")
    assert sent <= delivered <= objected
    assert "notification.objected" not in text  # said in words, not in event types
    assert "objected by coalition" in text
    for ident in ("S1", "M2", "F1"):  # M1, the line, runs farther than 5 km away
        assert f">{ident}<" in text
    assert "I1" in text and "reviewed jointly" in text
    assert "<svg" in text and "Appendix: checkpoint and proofs" in text and "\u2014 deconflict/" in text
    # Russia's view does not show S4 (sdf's, shared with the coalition only).
    mine = tmp_path / "russia.html"
    assert run("incident", "report", "--at", "35.36,40.32", "--radius", "12000", "--from", "2018-02-07T00:00Z",
               "--to", "2018-02-08T00:00Z", "-o", str(mine), "--party", "russia", store=path).returncode == 0
    admin = tmp_path / "admin.html"
    assert run("incident", "report", "--at", "35.36,40.32", "--radius", "12000", "--from", "2018-02-07T00:00Z",
               "--to", "2018-02-08T00:00Z", "-o", str(admin), store=path).returncode == 0
    assert ">S4<" in admin.read_text() and ">S4<" not in mine.read_text()
    # The PDF renders; its first page, as a picture, is the report's (not blank).
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    assert list(tmp_path.glob("page*.png"))  # what a person looks at
    subprocess.run(["pdftoppm", "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "grey")],
                   check=True, timeout=60)
    [pgm] = list(tmp_path.glob("grey*.pgm"))
    magic, width, _height, _maxval, pixels = pgm.read_bytes().split(maxsplit=4)
    assert magic == b"P5" and int(width) > 200
    dark = sum(1 for b in pixels if b < 128) / len(pixels)
    coloured = sum(1 for b in pixels if 128 <= b < 235) / len(pixels)
    # Text, tables and the map (its tinted areas): neither an empty page nor a black one.
    assert 0.005 < dark < 0.5 and coloured > 0.01, (dark, coloured)
