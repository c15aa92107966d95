from __future__ import annotations

import pytest

from deconflict.errors import InvalidInput
from deconflict.model import Altitude, AltitudeBand, LengthUnit


def test_feet_convert_to_metres() -> None:
    assert Altitude(10_000, LengthUnit.FOOT).metres == pytest.approx(3048.0)


def test_band_refuses_lower_above_upper() -> None:
    with pytest.raises(InvalidInput) as e:
        AltitudeBand.metres(2000, 1000)
    assert e.value.field == "lower"


def test_touching_bands_overlap() -> None:
    assert AltitudeBand.metres(1000, 2000).gap_m(AltitudeBand.metres(2000, 3000)) == 0.0


def test_band_gap_in_metres_across_units() -> None:
    low = AltitudeBand.metres(0, 1000)
    high = AltitudeBand(Altitude(5000, LengthUnit.FOOT), Altitude(6000, LengthUnit.FOOT))
    assert low.gap_m(high) == pytest.approx(5000 * 0.3048 - 1000)
    assert high.gap_m(low) == low.gap_m(high)


def test_surface_band_reaches_below_sea_level() -> None:
    band = AltitudeBand.surface_to(Altitude(3500))
    assert band.lower_m < -430 and band.from_surface
    assert band.gap_m(AltitudeBand.metres(-400, -300)) == 0.0


def test_altitude_refuses_nan() -> None:
    with pytest.raises(InvalidInput):
        Altitude(float("nan"))
