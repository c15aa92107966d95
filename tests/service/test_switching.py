"""A server's switch interval (service/switching.py): CPython's by default, an
operator's from the environment, a bad value refused naming the variable."""

from __future__ import annotations

import sys

import pytest

from deconflict.errors import InvalidInput
from deconflict.service import switching


@pytest.fixture(autouse=True)
def _restore() -> object:
    before = sys.getswitchinterval()
    yield None
    sys.setswitchinterval(before)


def test_the_default_and_an_operator_s_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(switching.ENV_SWITCH_MS, raising=False)
    assert switching.share_interpreter() == switching.SWITCH_INTERVAL_S == pytest.approx(sys.getswitchinterval())
    monkeypatch.setenv(switching.ENV_SWITCH_MS, "0.5")
    assert switching.share_interpreter() == pytest.approx(0.0005)
    assert sys.getswitchinterval() == pytest.approx(0.0005)


@pytest.mark.parametrize("raw", ["fast", "0", "1000", "nan"])
def test_a_bad_value_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(switching.ENV_SWITCH_MS, raw)
    with pytest.raises(InvalidInput) as err:
        switching.share_interpreter()
    assert switching.ENV_SWITCH_MS in str(err.value)
