"""A declaration's military symbol: an optional symbol identification code
(SIDC) as MIL-STD-2525 / APP-6 write it, and a unique designation drawn beside
the symbol (field T, "2-22 INF").

The engine decides nothing on these: they tell the other parties what is there,
the way staff read a map. Both the letter-based codes of 2525B/C (15 characters)
and the number-based codes of 2525D/E and APP-6 D (20 or 30 digits) are
accepted, so that a unit's symbol is declared the way its own systems write it;
the echelon is part of the code (2525C character 12, 2525D digits 9-10).

The standard identity the code carries (friend, hostile...) is the declaring
party's; each viewer's map draws the identity from its own side (docs/map.md).
"""

from __future__ import annotations

import re

from deconflict.errors import InvalidInput

#: 2525B/C: coding scheme, identity, battle dimension, status, function (6), modifiers (2), country (2),
#: order of battle.
LETTER_SIDC = re.compile(r"[SGWIOE][A-Z*-][A-Z*-][A-Z*-][A-Z0-9*-]{6}[A-Z0-9*-]{2}[A-Z*-]{2}[A-Z*-]")
#: 2525D/E, APP-6 D: version (2), identity (2), symbol set (2), status, HQ/task force/dummy, echelon/amplifier (2),
#: entity (6), modifiers (4); 30 digits add the country and more.
NUMBER_SIDC = re.compile(r"\d{20}(\d{10})?")

#: Field T of 2525 (unique designation) is 21 characters; a little more for APP-6 habits.
MAX_DESIGNATION = 30

#: 2525C character 12, the echelon, by name; what the map's form offers.
ECHELONS = {
    "team": "A", "squad": "B", "section": "C", "platoon": "D", "company": "E", "battalion": "F",
    "regiment": "G", "brigade": "H", "division": "I", "corps": "J", "army": "K",
}


def check_sidc(sidc: str, field: str = "sidc") -> str:
    """The code, upper-cased, or a refusal naming the field and the forms accepted."""
    code = sidc.strip().upper()
    if LETTER_SIDC.fullmatch(code) or NUMBER_SIDC.fullmatch(code):
        return code
    raise InvalidInput(field, "must be a MIL-STD-2525 symbol code: 15 characters (2525C, e.g. 'SFGPUCI----D---') "
                       f"or 20 or 30 digits (2525D); got {sidc!r}")


def check_designation(text: str, field: str = "designation") -> str:
    if len(text) > MAX_DESIGNATION:
        raise InvalidInput(field, f"must be at most {MAX_DESIGNATION} characters")
    if any(not c.isprintable() for c in text):
        raise InvalidInput(field, "must be printable text on one line")
    return text.strip()
