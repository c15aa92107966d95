"""Signed notes against golang.org/x/mod/sumdb/note's published example, checkpoints, cosignatures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deconflict.store.note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    check_cosignature,
    cosign,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_signer,
    parse_verifier,
    sign_note,
)

# The example of golang.org/x/mod/sumdb/note (its package documentation and tests).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
NOTE = TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
               "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n")


def test_the_published_example_signs_and_opens_byte_for_byte() -> None:
    signer = parse_signer(PETER_SKEY)
    assert signer.encode() == PETER_SKEY
    assert signer.verifier.encode() == PETER_VKEY
    assert sign_note(TEXT, signer) == NOTE  # Ed25519 is deterministic
    text, good = open_note(NOTE, [parse_verifier(PETER_VKEY)])
    assert text == TEXT and good[0].encode() == PETER_VKEY


def test_altered_notes_and_keys_are_refused() -> None:
    v = parse_verifier(PETER_VKEY)
    with pytest.raises(NoteError, match="altered"):
        open_note(NOTE.replace("cryptography", "cryptographY"), [v])
    other = Signer.generate("PeterNeumann").verifier
    with pytest.raises(NoteError, match="not signed by any key"):
        open_note(NOTE, [other])
    for bad in ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+c74f20a3", "PeterNeumann+c74f20a3+!!!!"):
        with pytest.raises(NoteError):
            parse_verifier(bad)


def test_checkpoints_round_trip_and_bind_their_origin() -> None:
    signer = Signer.generate("deconflict.test/log")
    cp = Checkpoint("deconflict.test/log", 42, bytes(range(32)), "2026-01-01T00:00:00.000000Z")
    note = sign_note(cp.text(), signer)
    assert note.splitlines()[:3] == ["deconflict.test/log", "42", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]
    assert open_checkpoint(note, [signer.verifier]) == cp
    assert parse_checkpoint(cp.text()) == cp
    impostor = Signer.generate("other/log")
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(sign_note(cp.text(), impostor), [impostor.verifier])
    with pytest.raises(NoteError):
        parse_checkpoint("o\n012\nAAAA\n")


def test_cosignatures() -> None:
    witness = Signer.generate("witness.example/coalition", COSIGNATURE_V1)
    text = Checkpoint("o", 3, bytes(32)).text()
    when = datetime(2026, 1, 2, tzinfo=UTC)
    line = cosign(text, witness, when)
    assert check_cosignature(text, line, witness.verifier) == int(when.timestamp())
    with pytest.raises(NoteError):
        check_cosignature(Checkpoint("o", 4, bytes(32)).text(), line, witness.verifier)
    assert parse_verifier(witness.verifier.encode()) == witness.verifier
