"""deconflict.model.symbol: a declaration's SIDC and designation."""

from __future__ import annotations

import pytest

from deconflict.errors import InvalidInput
from deconflict.model.symbol import ECHELONS, check_designation, check_sidc


@pytest.mark.parametrize("code", [
    "SFGPUCI----D---",  # 2525C: friendly infantry platoon
    "sfgpucf----f---",  # lower case is the same code
    "SHGPUCAA--*****",  # stars as 2525B leaves them
    "10031000141211000000",  # 2525D: 20 digits
    "100310001412110000000000000000",  # 30 digits
])
def test_2525c_and_2525d_codes_are_accepted(code: str) -> None:
    assert check_sidc(code) == code.upper()


@pytest.mark.parametrize("code", [
    "", "SFGPU", "XFGPUCI----D---", "SFGPUCI----D----", "1003100014121100000", "SFGPUCI----D-+-"])
def test_other_codes_are_refused_naming_the_field(code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_sidc(code, "sidc")
    assert err.value.field == "sidc" and "2525" in str(err.value)


def test_designations_are_short_single_lines() -> None:
    assert check_designation(" 2-22 INF ") == "2-22 INF"
    with pytest.raises(InvalidInput, match="at most 30"):
        check_designation("x" * 31)
    with pytest.raises(InvalidInput, match="one line"):
        check_designation("2-22\nINF")


def test_echelons_are_2525c_character_12() -> None:
    assert ECHELONS["platoon"] == "D" and ECHELONS["brigade"] == "H"
    assert len(set(ECHELONS.values())) == len(ECHELONS)
