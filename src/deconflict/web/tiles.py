"""A user's own offline tiles, served to the map: MBTiles and PMTiles files,
raster (PNG, JPEG, WebP) or vector (Mapbox Vector Tiles), as ``deconflict
serve --tiles FILE`` names them.

``GET /tiles`` lists the sets (name, format, zoom range, bounds, attribution);
``GET /tiles/{name}/{z}/{x}/{y}`` answers one tile in XYZ numbering (y down), as
OpenLayers asks for it. Tiles are read from the file on each request and never
held in memory. Base-map tiles are the operator's, not a party's picture: they
are served without a token, like the map's own files (docs/map.md).

PMTiles (version 3) is read here directly: a 127-byte header, then directories
of varint-coded entries keyed by a Hilbert-curve tile id
(https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from deconflict.errors import InvalidInput

#: The deepest zoom a tile address may name (2^30 tiles a side); deeper is a 404.
MAX_ZOOM = 30

MEDIA_TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "pbf": "application/x-protobuf", "avif": "image/avif",
}


class TileSet(Protocol):
    name: str
    format: str
    #: "gzip" when tiles are stored gzipped (vector tiles usually are), else "".
    encoding: str

    def describe(self) -> dict[str, Any]: ...

    def tile(self, z: int, x: int, y: int) -> bytes | None: ...


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "pbf"


@dataclass
class MBTiles:
    """An MBTiles 1.3 file (SQLite; rows in TMS numbering, y up)."""

    path: Path
    name: str
    format: str = ""
    encoding: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            with self._open() as db:
                self.meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
                first = db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        except sqlite3.DatabaseError as exc:
            raise InvalidInput("--tiles", f"{self.path} is not an MBTiles file: {exc}") from exc
        fmt = self.meta.get("format", "").lower()
        sample = bytes(first[0]) if first else b""
        self.encoding = "gzip" if sample.startswith(b"\x1f\x8b") else ""
        self.format = fmt or _sniff(gzip.decompress(sample) if self.encoding else sample)
        if self.format not in MEDIA_TYPES:
            raise InvalidInput("--tiles", f"{self.path}: tile format {self.format!r} is not one the map draws")

    def _open(self) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True)

    def describe(self) -> dict[str, Any]:
        def number(key: str) -> int | None:
            value = self.meta.get(key, "")
            return int(value) if value.strip().isdigit() else None

        bounds = [float(v) for v in self.meta["bounds"].split(",")] if "bounds" in self.meta else None
        return {"name": self.name, "title": self.meta.get("name", self.name), "format": self.format,
                "kind": "vector" if self.format == "pbf" else "raster", "minzoom": number("minzoom"),
                "maxzoom": number("maxzoom"), "bounds": bounds, "attribution": self.meta.get("attribution", "")}

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        with self._open() as db:
            row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                             (z, x, (1 << z) - 1 - y)).fetchone()
        return None if row is None else bytes(row[0])


# -- PMTiles version 3 ---------------------------------------------------------

PMTILES_HEADER = 127
_COMPRESSION = {0: "", 1: "", 2: "gzip"}  # unknown, none, gzip; brotli (3) and zstd (4) are refused
_TILE_TYPE = {1: "pbf", 2: "png", 3: "jpg", 4: "webp", 5: "avif"}


def zxy_to_tile_id(z: int, x: int, y: int) -> int:
    """The PMTiles tile id: the tiles of every lower zoom, then the position on
    zoom ``z``'s Hilbert curve."""
    acc = ((1 << (2 * z)) - 1) // 3
    n = 1 << z
    d = 0
    s = n >> 1
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = n - 1 - x, n - 1 - y
            x, y = y, x
        s >>= 1
    return acc + d


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


@dataclass(frozen=True)
class Entry:
    tile_id: int
    offset: int
    length: int
    run_length: int


def decode_directory(buf: bytes) -> list[Entry]:
    n, pos = _varint(buf, 0)
    ids: list[int] = []
    last = 0
    for _ in range(n):
        delta, pos = _varint(buf, pos)
        last += delta
        ids.append(last)
    runs: list[int] = []
    for _ in range(n):
        v, pos = _varint(buf, pos)
        runs.append(v)
    lengths: list[int] = []
    for _ in range(n):
        v, pos = _varint(buf, pos)
        lengths.append(v)
    entries: list[Entry] = []
    for i in range(n):
        v, pos = _varint(buf, pos)
        # 0 after the first entry: right after the previous entry's data.
        offset = entries[-1].offset + entries[-1].length if v == 0 and i > 0 else v - 1
        entries.append(Entry(ids[i], offset, lengths[i], runs[i]))
    return entries


def find_entry(entries: list[Entry], tile_id: int) -> Entry | None:
    lo, hi = 0, len(entries) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if entries[mid].tile_id < tile_id:
            lo = mid + 1
        elif entries[mid].tile_id > tile_id:
            hi = mid - 1
        else:
            return entries[mid]
    # The greatest entry below: a run of tiles that may cover it, or a leaf directory.
    if hi >= 0:
        e = entries[hi]
        if e.run_length == 0 or tile_id - e.tile_id < e.run_length:
            return e
    return None


@dataclass
class PMTiles:
    """A PMTiles version 3 file."""

    path: Path
    name: str
    format: str = ""
    encoding: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            with self.path.open("rb") as f:
                head = f.read(PMTILES_HEADER)
        except OSError as exc:
            raise InvalidInput("--tiles", f"{self.path} cannot be read: {exc.strerror}") from exc
        if len(head) < PMTILES_HEADER or head[:7] != b"PMTiles" or head[7] != 3:
            raise InvalidInput("--tiles", f"{self.path} is not a PMTiles version 3 file")
        fields = struct.unpack("<11Q", head[8:96])
        names = ["root_offset", "root_length", "meta_offset", "meta_length", "leaf_offset", "leaf_length",
                 "data_offset", "data_length", "addressed", "entries", "contents"]
        self.header = dict(zip(names, fields, strict=True))
        internal, tile_comp, tile_type = head[97], head[98], head[99]
        if internal not in _COMPRESSION or tile_comp not in _COMPRESSION:
            raise InvalidInput("--tiles", f"{self.path}: only uncompressed or gzip PMTiles can be served")
        if tile_type not in _TILE_TYPE:
            raise InvalidInput("--tiles", f"{self.path}: tile type {tile_type} is not one the map draws")
        self.internal = _COMPRESSION[internal]
        self.encoding = _COMPRESSION[tile_comp]
        self.format = _TILE_TYPE[tile_type]
        self.header.update(min_zoom=head[100], max_zoom=head[101],
                           bounds=[v / 1e7 for v in struct.unpack("<4i", head[102:118])])
        raw = self._read(self.header["meta_offset"], self.header["meta_length"])
        try:
            self.meta = json.loads(self._inflate(raw)) if raw else {}
        except (ValueError, OSError) as exc:
            raise InvalidInput("--tiles", f"{self.path}: its metadata is not JSON") from exc

    def _read(self, offset: int, length: int) -> bytes:
        with self.path.open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def _inflate(self, data: bytes) -> bytes:
        return gzip.decompress(data) if self.internal == "gzip" else data

    def describe(self) -> dict[str, Any]:
        h = self.header
        return {"name": self.name, "title": str(self.meta.get("name", self.name)), "format": self.format,
                "kind": "vector" if self.format == "pbf" else "raster", "minzoom": h["min_zoom"],
                "maxzoom": h["max_zoom"], "bounds": h["bounds"], "attribution": str(self.meta.get("attribution", ""))}

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        tile_id = zxy_to_tile_id(z, x, y)
        offset, length = self.header["root_offset"], self.header["root_length"]
        for _depth in range(4):  # the spec allows a root and at most three levels of leaves
            entries = decode_directory(self._inflate(self._read(offset, length)))
            e = find_entry(entries, tile_id)
            if e is None:
                return None
            if e.run_length > 0:
                return self._read(self.header["data_offset"] + e.offset, e.length)
            offset, length = self.header["leaf_offset"] + e.offset, e.length
        return None


def open_tiles(path: Path) -> TileSet:
    """The tile set in a file, named after it (its stem); refused with the reason if it is not one."""
    if not path.is_file():
        raise InvalidInput("--tiles", f"{path} is not a file")
    with path.open("rb") as f:
        magic = f.read(16)
    if magic.startswith(b"PMTiles"):
        return PMTiles(path, path.stem)
    if magic.startswith(b"SQLite format 3\x00"):
        return MBTiles(path, path.stem)
    raise InvalidInput("--tiles", f"{path} is neither an MBTiles nor a PMTiles file")


def add_routes(app: FastAPI, tilesets: list[TileSet]) -> None:
    by_name: dict[str, TileSet] = {}
    for t in tilesets:
        if t.name in by_name:
            raise InvalidInput("--tiles", f"two tile files are named {t.name!r}: rename one")
        by_name[t.name] = t

    @app.get("/tiles", include_in_schema=False)
    def catalog() -> JSONResponse:
        return JSONResponse({"tilesets": [t.describe() for t in tilesets]}, headers={"Cache-Control": "no-cache"})

    @app.get("/tiles/{name}/{z}/{x}/{y}", include_in_schema=False)
    def tile(name: str, z: int, x: int, y: int) -> Response:
        t = by_name.get(name)
        if t is None or not 0 <= z <= MAX_ZOOM or not (0 <= x < 1 << z and 0 <= y < 1 << z):
            raise HTTPException(status_code=404)
        data = t.tile(z, x, y)
        if data is None:
            # No tile here: an empty answer the map draws as nothing (204 keeps the console clean).
            return Response(status_code=204)
        headers = {"Cache-Control": "public, max-age=3600"}
        if t.encoding:
            headers["Content-Encoding"] = t.encoding
        return Response(data, media_type=MEDIA_TYPES[t.format], headers=headers)
