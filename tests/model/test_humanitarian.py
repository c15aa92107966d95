"""Humanitarian details: bounded, validated, naming the field that is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deconflict.errors import InvalidInput
from deconflict.model import (
    Contact,
    FacilityType,
    HumanitarianDetails,
    Point,
    Site,
    SiteCategory,
    Vehicles,
    Window,
)
from deconflict.model.humanitarian import MAX_LONG_TEXT, MAX_PEOPLE, MAX_PLATES, MAX_SHORT_TEXT

W = Window(datetime(2018, 2, 7, tzinfo=UTC), datetime(2018, 2, 8, tzinfo=UTC))


def field_of(build: object) -> str:
    with pytest.raises(InvalidInput) as e:
        build()  # type: ignore[operator]
    return e.value.field


def test_the_eight_facility_types() -> None:
    assert [f.value for f in FacilityType] == [
        "hospital", "school", "displacement_camp", "water_sanitation", "warehouse", "office", "residence",
        "distribution_point",
    ]


def test_a_clinic_with_its_details() -> None:
    details = HumanitarianDetails(
        contact=Contact(name="Dr A. Haddad", phone="+963 11 000 0000", radio="VHF 145.500", email="a@relief.example"),
        organisation="Relief", people=40,
        vehicles=Vehicles(count=2, plates=("DEZ-1", "DEZ-2"), markings="red crescent"),
        cargo="", remarks="Generator at the back")
    site = Site(id="S9", owner="relief", window=W, geometry=Point(40.3, 35.3), facility=FacilityType.HOSPITAL,
                details=details)
    assert site.details is details and site.facility is FacilityType.HOSPITAL


def test_a_facility_type_is_for_protected_sites_only() -> None:
    assert field_of(lambda: Site(id="S9", owner="coalition", window=W, geometry=Point(40.3, 35.3),
                                 category=SiteCategory.FORCES, facility=FacilityType.OFFICE)) == "facility"


def test_texts_and_counts_are_bounded() -> None:
    assert field_of(lambda: Contact(name="x" * (MAX_SHORT_TEXT + 1))) == "name"
    assert field_of(lambda: Contact(phone="12\x00")) == "phone"
    assert field_of(lambda: Contact(email="not an address")) == "email"
    assert field_of(lambda: HumanitarianDetails(remarks="x" * (MAX_LONG_TEXT + 1))) == "remarks"
    assert field_of(lambda: HumanitarianDetails(people=MAX_PEOPLE + 1)) == "people"
    assert field_of(lambda: HumanitarianDetails(people=-1)) == "people"
    assert field_of(lambda: Vehicles(count=1, plates=("A", "B"))) == "plates"
    assert field_of(lambda: Vehicles(count=1, plates=(" ",))) == "plates[0]"
    assert field_of(lambda: Vehicles(count=MAX_PLATES + 1, plates=("P",) * (MAX_PLATES + 1))) == "plates"
    assert field_of(lambda: Vehicles(count=True)) == "count"  # type: ignore[arg-type]
    # At the bounds is fine; multi-line remarks are fine.
    HumanitarianDetails(people=MAX_PEOPLE, remarks="line one\nline two", organisation="x" * MAX_SHORT_TEXT)
