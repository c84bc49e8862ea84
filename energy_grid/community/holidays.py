"""The households' public holidays: Germany's nine national ones.

The households behave by the BDEW H0 profile, measured on German households, and H0's own rule
is that a public holiday takes the Sunday profile; so their calendar is Germany's, though the
weather they live in is the TMY pvlib ships (weather.py). Only the holidays every German state
keeps are counted (a state's own, such as Corpus Christi, are not). Forecasting reads the same
calendar from here, so that a model learns the days off the load actually had.
"""

from __future__ import annotations

import datetime

EASTER_OFFSETS_DAYS = {
    "Good Friday": -2,
    "Easter Monday": 1,
    "Ascension Day": 39,
    "Whit Monday": 50,
}
FIXED_DATES = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (10, 3): "German Unity Day",
    (12, 25): "Christmas Day",
    (12, 26): "Second Day of Christmas",
}


def easter_sunday(year: int) -> datetime.date:
    """Easter Sunday of the Gregorian calendar by the anonymous computus (Meeus/Jones/Butcher)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    correction = (century + 8) // 25
    moon_correction = (century - correction + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30
    quarters, year_rest = divmod(year_of_century, 4)
    weekday = (32 + 2 * century_rest + 2 * quarters - epact - year_rest) % 7
    shift = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * shift + 114, 31)
    return datetime.date(year, month, day + 1)


def public_holidays(year: int) -> dict[datetime.date, str]:
    """Germany's national public holidays of `year`, each with its name."""
    easter = easter_sunday(year)
    holidays = {datetime.date(year, month, day): name for (month, day), name in FIXED_DATES.items()}
    for name, offset_days in EASTER_OFFSETS_DAYS.items():
        holidays[easter + datetime.timedelta(days=offset_days)] = name
    return dict(sorted(holidays.items()))
