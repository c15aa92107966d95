"""The engine's compact declaration table (engine/table.py): encoded slots decoded
only when asked for, withdrawals, later additions, and a bounded cache."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from bench.synth import Theatre

from deconflict.engine import table as table_module
from deconflict.engine.table import DeclarationTable
from deconflict.model import Declaration
from deconflict.store.documents import decode_declaration, encode_declaration


def encoded(decls: list[Declaration]) -> tuple[bytes, npt.NDArray[np.int64]]:
    blobs = [json.dumps(encode_declaration(d)).encode() for d in decls]
    offsets = np.zeros(len(blobs) + 1, np.int64)
    np.cumsum([len(b) for b in blobs], out=offsets[1:])
    return b"".join(blobs), offsets


def counting_decoder(asked: list[bytes]) -> Callable[[bytes], Declaration]:
    """The store's decoder, recording each document it is asked for in ``asked``."""
    def decode(doc: bytes) -> Declaration:
        asked.append(doc)
        return decode_declaration(json.loads(doc))
    return decode


def test_slots_read_back_as_declared_and_decode_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    decls = Theatre(1).declarations(50)
    blob, offsets = encoded(decls)
    asked: list[bytes] = []
    decode = counting_decoder(asked)

    monkeypatch.setattr(table_module, "DECODED_CACHE", 4)
    t = DeclarationTable(blob, offsets, decode)
    assert len(t) == 50 and not asked
    assert t[7] == decls[7] and len(asked) == 1
    assert t[7] is t[7] and len(asked) == 1  # cached
    for i in range(10):
        assert t[i] == decls[i]
    assert len(t._cache) == 4  # bounded
    t[3] = None
    assert t[3] is None and not t.alive(3) and t.alive(4)
    extra = Theatre(2).declarations(3, prefix="x")
    t.extend(extra[:2])
    t.append(extra[2])
    assert len(t) == 53 and t[52] == extra[2]
    t[51] = None
    assert [d for d in t if d is not None] == [d for i, d in enumerate(decls) if i != 3] + [extra[0], extra[2]]
    with pytest.raises(ValueError):
        t[5] = decls[0]  # type: ignore[assignment]


def test_a_table_of_encoded_slots_needs_a_decoder() -> None:
    blob, offsets = encoded(Theatre(1).declarations(2))
    with pytest.raises(ValueError, match="decoder"):
        DeclarationTable(blob, offsets)


def test_a_frozen_listing_is_the_table_as_it_was_and_decodes_only_as_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full listing used to decode every declaration while its reader held the
    hotline's lock (23 s at 1M): the frozen view copies what can change, and
    decodes only when it is read, after the lock."""
    decls = Theatre(1).declarations(20)
    blob, offsets = encoded(decls)
    asked: list[bytes] = []
    decode = counting_decoder(asked)

    t = DeclarationTable(blob, offsets, decode)
    extra = Theatre(2).declarations(2, prefix="x")
    t.append(extra[0])
    t[4] = None
    view = t.frozen()
    assert not asked  # taken without decoding
    t[5] = None  # changes after the view was taken do not show in it
    t.append(extra[1])
    listed = list(view)
    assert listed == [d for i, d in enumerate(decls) if i != 4] + [extra[0]]
    assert len(asked) == 19
