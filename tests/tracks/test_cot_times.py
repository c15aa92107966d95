"""CoT times are parsed once per text and kept in a bounded cache: the same answers, bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconflict.codecs import cot


def test_cached_times_are_the_parsed_ones_and_the_cache_is_bounded() -> None:
    t0 = datetime(2018, 2, 7, 12, 0, tzinfo=UTC)
    texts = [(t0 + timedelta(milliseconds=k)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
             for k in range(cot._TIMES_MAX + 500)]
    for text in texts + texts[:10]:
        assert cot.parse_time(text, "event.time") == cot._parse_time(text, "event.time")
    assert len(cot._TIMES) <= cot._TIMES_MAX
    assert cot.parse_time(" 2018-02-07T12:00:00+01:00 ", "event.time") == datetime(2018, 2, 7, 11, 0, tzinfo=UTC)
    for bad in ("yesterday", "2018-02-07T12:00:00"):  # errors are not cached: asked twice, refused twice
        for _ in range(2):
            with pytest.raises(cot.CotError):
                cot.parse_time(bad, "event.time")
