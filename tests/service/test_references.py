"""References (service/references.py): what a reference names, and what it costs
to keep one per declaration ever made."""

from __future__ import annotations

import tracemalloc

import pytest

from deconflict.errors import InvalidInput
from deconflict.service.references import References, parse_reference, reference

#: Bytes a declaration's reference may cost in the two maps at 10,000 (their
#: entries: about 50, as the dicts grew; a ("activity", id) tuple per reference
#: made it 105).
MAX_BYTES_PER_REFERENCE = 80


def test_a_reference_names_its_activity_or_notification() -> None:
    refs = References()
    refs.declared("a1", 10)
    refs.declared("a1", 12)  # amended: keeps its reference
    refs.notification("n1", 11)
    assert refs.of_activity("a1") == reference(10) == "DC-000010"
    assert refs.named(10) == ("activity", "a1")
    assert refs.named(11) == ("notification", "n1")
    assert refs.named(12) is None and refs.named(99) is None
    # Withdrawn, then declared again: a new reference, and the old one still names it.
    refs.withdrawn("a1")
    assert refs.next_for("a1", 20) == reference(20)
    refs.declared("a1", 20)
    assert refs.of_activity("a1") == reference(20)
    assert refs.named(10) == refs.named(20) == ("activity", "a1")
    assert parse_reference("dc-20") == parse_reference("DC20") == 20
    with pytest.raises(InvalidInput, match="reference"):
        parse_reference("DC-x")


def test_a_reference_costs_two_map_entries_not_an_object_more() -> None:
    """The hotline keeps one per declaration ever made (a million after a snapshot start)."""
    n = 10_000
    ids = [f"s{i}" for i in range(n)]
    seqs = list(range(1_000, 1_000 + n))
    refs = References()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for decl_id, seq in zip(ids, seqs, strict=True):
            refs.declared(decl_id, seq)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert refs.named(seqs[-1]) == ("activity", ids[-1])
    assert used / n <= MAX_BYTES_PER_REFERENCE, used / n
