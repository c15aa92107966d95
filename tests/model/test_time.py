from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from deconflict.errors import InvalidInput
from deconflict.model import Window

T0 = datetime(2018, 2, 7, 10, tzinfo=UTC)


def test_window_refuses_end_before_start() -> None:
    with pytest.raises(InvalidInput) as e:
        Window(T0, T0 - timedelta(minutes=1))
    assert e.value.field == "end"


def test_window_refuses_empty_window() -> None:
    with pytest.raises(InvalidInput):
        Window(T0, T0)


def test_window_refuses_naive_times() -> None:
    with pytest.raises(InvalidInput) as e:
        Window(datetime(2018, 2, 7, 10), T0 + timedelta(hours=1))
    assert "timezone" in e.value.reason


def test_window_converts_to_utc() -> None:
    plus3 = timezone(timedelta(hours=3))
    w = Window(datetime(2018, 2, 7, 13, tzinfo=plus3), datetime(2018, 2, 7, 14, tzinfo=plus3))
    assert w.start == T0 and w.start.utcoffset() == timedelta(0)


def test_window_overlap_is_half_open() -> None:
    a = Window(T0, T0 + timedelta(hours=1))
    b = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert a.overlap(b) is None
    assert a.overlap(b, margin=timedelta(minutes=1)) is not None
    assert a.gap(b) == timedelta(0)
    c = Window(T0 + timedelta(minutes=59), T0 + timedelta(hours=2))
    o = a.overlap(c)
    assert o is not None and o.start == c.start and o.end == a.end
