"""Small tile files the tests make: MBTiles and PMTiles (version 3), raster
tiles as solid-colour PNGs and vector tiles as Mapbox Vector Tiles with named
points. Written from the formats' specifications, independently of the reader
in deconflict.web.tiles (except the tile id, which the tests check against the
specification's own examples)."""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

from deconflict.web.tiles import zxy_to_tile_id


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A solid-colour RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile (y down) holding a position."""
    n = 1 << z
    phi = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(phi)) / math.pi) / 2 * n)


# -- Mapbox Vector Tiles (protobuf, written by hand) -------------------------------

def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint((number << 3) | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def _zigzag(v: int) -> int:
    return (v << 1) ^ (v >> 31)


def mvt(layer: str, points: Iterable[tuple[int, int, str]], extent: int = 4096) -> bytes:
    """One layer of points at tile pixels (0..extent), each with a ``name``."""
    pts = list(points)
    feats = b""
    for i, (x, y, _name) in enumerate(pts):
        geometry = _varint(9) + _varint(_zigzag(x)) + _varint(_zigzag(y))  # MoveTo, 1 point
        feat = (_field(1, 0, _varint(i + 1)) + _field(2, 2, _varint(0) + _varint(i))
                + _field(3, 0, _varint(1)) + _field(4, 2, geometry))
        feats += _field(2, 2, feat)
    values = b"".join(_field(4, 2, _field(1, 2, name.encode())) for _x, _y, name in pts)
    body = (_field(15, 0, _varint(2)) + _field(1, 2, layer.encode()) + feats + _field(3, 2, b"name")
            + values + _field(5, 0, _varint(extent)))
    return _field(3, 2, body)


# -- the files ------------------------------------------------------------------------

def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], fmt: str, name: str = "") -> Path:
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE metadata (name TEXT, value TEXT);"
                     "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);")
    zooms = [z for z, _x, _y in tiles]
    meta = {"name": name or path.stem, "format": fmt, "minzoom": str(min(zooms)), "maxzoom": str(max(zooms)),
            "bounds": "-180,-85,180,85", "attribution": "test tiles"}
    db.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                   [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    db.commit()
    db.close()
    return path


def _directory(entries: list[tuple[int, int, int, int]]) -> bytes:
    """(tile_id, offset, length, run_length), sorted by tile id."""
    out = _varint(len(entries))
    last = 0
    for tid, *_ in entries:
        out += _varint(tid - last)
        last = tid
    out += b"".join(_varint(run) for *_, run in entries)
    out += b"".join(_varint(length) for _t, _o, length, _r in entries)
    out += b"".join(_varint(offset + 1) for _t, offset, _l, _r in entries)
    return out


def write_pmtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], tile_type: int, *,
                  gzip_tiles: bool = False, leaves: bool = False, name: str = "") -> Path:
    """A PMTiles v3 file. ``tile_type``: 1 MVT, 2 PNG. ``leaves``: the root holds one
    leaf directory holding the entries (to exercise the leaf lookup)."""
    data = b""
    entries = []
    for (z, x, y), blob in sorted(tiles.items(), key=lambda kv: zxy_to_tile_id(*kv[0])):
        stored = gzip.compress(blob) if gzip_tiles else blob
        entries.append((zxy_to_tile_id(z, x, y), len(data), len(stored), 1))
        data += stored
    leaf = b""
    if leaves:
        leaf = _directory(entries)
        root = _directory([(entries[0][0], 0, len(leaf), 0)])
    else:
        root = _directory(entries)
    meta = json.dumps({"name": name or path.stem, "attribution": "test tiles"}).encode()
    root_off = 127
    meta_off = root_off + len(root)
    leaf_off = meta_off + len(meta)
    data_off = leaf_off + len(leaf)
    zooms = [z for z, _x, _y in tiles]
    header = (b"PMTiles" + bytes([3])
              + struct.pack("<11Q", root_off, len(root), meta_off, len(meta), leaf_off, len(leaf), data_off, len(data),
                            len(tiles), len(entries), len(entries))
              + bytes([1, 1, 2 if gzip_tiles else 1, tile_type, min(zooms), max(zooms)])
              + struct.pack("<4i", -1800000000, -850000000, 1800000000, 850000000)
              + bytes([min(zooms)]) + struct.pack("<2i", 0, 0))
    assert len(header) == 127
    path.write_bytes(header + root + meta + leaf + data)
    return path
