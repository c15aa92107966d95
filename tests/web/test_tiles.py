"""deconflict.web.tiles: the user's MBTiles and PMTiles files, read and served,
and `deconflict serve --tiles` refusing what is not one."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from typer.testing import CliRunner

from deconflict.cli.app import app as cli
from deconflict.errors import InvalidInput
from deconflict.web.tiles import MBTiles, PMTiles, open_tiles, zxy_to_tile_id
from tests.service.conftest import Running, start
from tests.web.test_map_e2e import Shot, no_errors, open_page
from tests.web.tilefiles import mvt, png, write_mbtiles, write_pmtiles

RED = png((200, 30, 30), size=4)
BLUE = png((30, 30, 200), size=4)


def test_tile_ids_follow_the_specification_examples() -> None:
    # PMTiles v3 spec: zoom 0 is id 0; zoom 1 runs (0,0) (0,1) (1,1) (1,0) along the Hilbert curve.
    assert zxy_to_tile_id(0, 0, 0) == 0
    assert [zxy_to_tile_id(1, x, y) for x, y in [(0, 0), (0, 1), (1, 1), (1, 0)]] == [1, 2, 3, 4]
    assert zxy_to_tile_id(2, 0, 0) == 5
    ids = {zxy_to_tile_id(3, x, y) for x in range(8) for y in range(8)}
    assert ids == set(range(21, 21 + 64))


def test_mbtiles_are_read_in_xyz_numbering(tmp_path: Path) -> None:
    f = write_mbtiles(tmp_path / "relief.mbtiles", {(2, 1, 0): RED, (2, 1, 3): BLUE}, "png")
    t = open_tiles(f)
    assert isinstance(t, MBTiles)
    assert t.tile(2, 1, 0) == RED and t.tile(2, 1, 3) == BLUE  # y down, though the file keeps y up
    assert t.tile(2, 0, 0) is None
    d = t.describe()
    assert (d["name"], d["format"], d["kind"], d["minzoom"], d["maxzoom"]) == ("relief", "png", "raster", 2, 2)


@pytest.mark.parametrize("leaves", [False, True])
def test_pmtiles_are_read_from_the_root_or_a_leaf_directory(tmp_path: Path, leaves: bool) -> None:
    tiles = {(z, x, y): png((x * 40, y * 40, z * 40), size=2)
             for z in range(3) for x in range(1 << z) for y in range(1 << z)}
    t = open_tiles(write_pmtiles(tmp_path / "p.pmtiles", tiles, 2, leaves=leaves))
    assert isinstance(t, PMTiles)
    for key, blob in tiles.items():
        assert t.tile(*key) == blob, key
    assert t.tile(3, 0, 0) is None
    assert t.describe()["maxzoom"] == 2


PLACES = mvt("places", [(2048, 2048, "Deir ez-Zor")])


@pytest.fixture(scope="module")
def tiles_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A real server with the map and two tile files: gzipped vector PMTiles and raster MBTiles."""
    d = tmp_path_factory.mktemp("tiles")
    files = [write_pmtiles(d / "places.pmtiles", {(0, 0, 0): PLACES}, 1, gzip_tiles=True),
             write_mbtiles(d / "relief.mbtiles", {(0, 0, 0): RED}, "png")]
    yield from start(d / "server.sqlite3", web=True, tiles=files)


def test_gzipped_vector_pmtiles_are_served_with_their_encoding(tiles_server: Running) -> None:
    with httpx.Client(base_url=tiles_server.url) as client:
        cat = client.get("/tiles").json()["tilesets"]
        assert [(c["name"], c["format"], c["kind"]) for c in cat] == [
            ("places", "pbf", "vector"), ("relief", "png", "raster")]
        r = client.get("/tiles/places/0/0/0")
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        assert r.content == PLACES  # the client undid the gzip
        assert client.get("/tiles/relief/0/0/0").content == RED
        assert client.get("/tiles/places/1/0/0").status_code == 204  # no tile there
        assert client.get("/tiles/places/0/1/0").status_code == 404  # not a tile of zoom 0
        assert client.get("/tiles/nothing/0/0/0").status_code == 404


def test_files_that_are_not_tiles_are_refused_naming_the_option(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for bad in (text, tmp_path / "missing.pmtiles"):
        with pytest.raises(InvalidInput) as err:
            open_tiles(bad)
        assert err.value.field == "--tiles"
    old = tmp_path / "v2.pmtiles"
    old.write_bytes(b"PMTiles\x02" + bytes(200))
    with pytest.raises(InvalidInput, match="version 3"):
        open_tiles(old)
    gz = tmp_path / "g.pmtiles"
    gz.write_bytes(gzip.compress(b"x"))
    with pytest.raises(InvalidInput, match="neither"):
        open_tiles(gz)


def test_serve_refuses_a_tile_file_before_serving(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    out = CliRunner().invoke(cli, ["serve", "--store", str(tmp_path / "s.sqlite3"), "--tiles", str(text)])
    assert out.exit_code != 0
    assert "--tiles" in out.output and "neither an MBTiles nor a PMTiles" in out.output


def test_the_map_switches_to_the_users_raster_and_vector_tiles(tiles_server: Running, browser_context: Any,
                                                             shot: Shot) -> None:
    page = open_page(browser_context, tiles_server, tiles_server.tokens["sdf"]["viewer"])
    page.click("#tab-layers")
    expect(page.locator("#basemap-row")).to_be_visible()
    # Raster: the relief tile is solid red; chosen, it covers the map where nothing else is drawn.
    with page.expect_response(lambda r: "/tiles/relief/" in r.url and r.status == 200):
        page.select_option("#basemap", "relief")
    page.evaluate("window.deconflict.setView([10, -40], 256 * 4)")  # open sea, no picture
    page.wait_for_function("() => window.deconflict.layers().some((l) => l.name === 'relief' && l.drawn)")
    page.wait_for_timeout(300)
    box = page.locator("#map").bounding_box()
    assert box is not None
    pixel = page.screenshot(clip={"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2,
                                  "width": 1, "height": 1})
    assert centre_colour(pixel) == pytest.approx((200, 30, 30), abs=6)
    # The Natural Earth countries are hidden under an opaque raster base.
    assert not any(lay["drawn"] for lay in layers(page) if lay["name"].startswith("countries-"))
    shot(page, "tiles-raster")
    # Vector: the places tile's point arrives, decoded, with its name.
    with page.expect_response(lambda r: "/tiles/places/" in r.url and r.status == 200):
        page.select_option("#basemap", "places")
    page.wait_for_function("() => window.deconflict.layers().some((l) => l.name === 'places' && l.drawn"
                           " && (l.names || []).includes('Deir ez-Zor'))")
    assert any(lay["drawn"] for lay in layers(page) if lay["name"].startswith("countries-"))
    page.select_option("#basemap", "")
    assert not any(lay["drawn"] for lay in layers(page) if lay["name"] in ("places", "relief"))
    no_errors(page)
    page.close()


def layers(page: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("window.deconflict.layers()")
    return result


def centre_colour(png_bytes: bytes) -> tuple[int, int, int]:
    """The first pixel of a screenshot (a 1x1 PNG, RGB or RGBA, any filter)."""
    import struct
    import zlib

    pos = 8
    idat = b""
    colour_type = 2
    while pos < len(png_bytes):
        length = struct.unpack(">I", png_bytes[pos:pos + 4])[0]
        kind = png_bytes[pos + 4:pos + 8]
        data = png_bytes[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            colour_type = data[9]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    # One row of one pixel: the filter byte, then the pixel (filters are relative to zero here).
    assert colour_type in (2, 6)
    return raw[1], raw[2], raw[3]


def test_serve_with_workers_serves_the_tiles_from_every_worker(tmp_path: Path) -> None:
    """`deconflict serve --workers 2 --tiles A --tiles B` as real processes: each worker
    (a fresh interpreter) opens the files from the environment the command sets."""
    import os
    import subprocess
    import sys

    from tests.cli.test_serve_workers import Server, fresh_client
    from tests.service.conftest import free_port, wait_ready

    files = [write_mbtiles(tmp_path / "relief.mbtiles", {(0, 0, 0): RED}, "png"),
             write_pmtiles(tmp_path / "places.pmtiles", {(0, 0, 0): PLACES}, 1, gzip_tiles=True)]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deconflict.cli.app", "serve", "--port", str(port), "--store",
             str(tmp_path / "s.sqlite3"), "--workers", "2", "--tiles", str(files[0]), "--tiles", str(files[1])],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ})
    server = Server(proc, f"http://127.0.0.1:{port}", tmp_path / "s.sqlite3", log)
    try:
        wait_ready(server.url, proc)
        with fresh_client(base_url=server.url) as client:
            for _ in range(6):  # a new connection each: both workers answer some
                assert [t["name"] for t in client.get("/tiles").json()["tilesets"]] == ["relief", "places"]
                assert client.get("/tiles/relief/0/0/0").content == RED
                assert client.get("/tiles/places/0/0/0").content == PLACES
    finally:
        assert server.stop() == 0, server.errors()
