"""When the scheduling line is open: weekly hours and closure dates in the clinic's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\Z")


@dataclass(frozen=True)
class Hours:
    """Opening hours: for each weekday (Monday first) a tuple of (open, close) times; closure dates."""

    zone: ZoneInfo
    weekly: tuple[tuple[tuple[time, time], ...], ...]
    closed_on: frozenset[date]

    def is_open(self, now: datetime) -> bool:
        """Whether the line is open at `now` (any aware datetime; compared in the clinic's zone)."""
        local = now.astimezone(self.zone)
        if local.date() in self.closed_on:
            return False
        return any(start <= local.time() < end for start, end in self.weekly[local.weekday()])

    def next_opening(self, now: datetime) -> datetime | None:
        """When the line next opens after `now`, in the clinic's zone; None if never within a year."""
        local = now.astimezone(self.zone)
        for offset in range(366):
            day = local.date() + timedelta(days=offset)
            if day in self.closed_on:
                continue
            for start, _ in self.weekly[day.weekday()]:
                # Wall-clock time in the zone: a DST change moves the instant, not the hour on the sign.
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


def parse_range(text: str) -> tuple[time, time] | None:
    """"08:00-17:00" as (08:00, 17:00), or None when it is not such a range (24:00 means midnight)."""
    found = _RANGE.match(text.strip())
    if not found:
        return None
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 == 24 and m1 or h2 == 24 and m2:
        return None
    start = time(h1 % 24, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    return (start, end) if start < end else None


def zone(name: str) -> ZoneInfo | None:
    """The time zone called `name` (such as America/Kentucky/Louisville), or None if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# How each language says the parts of opening hours.
_WORDS = {
    "en": {"days": tuple(day.title() for day in DAYS), "noon": "noon", "midnight": "midnight",
           "am": "AM", "pm": "PM", "through": "to", "and": "and", "range": "{start} to {end}"},
    "es": {"days": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
           "noon": "mediodía", "midnight": "medianoche", "am": "a. m.", "pm": "p. m.", "through": "a",
           "and": "y", "range": "de {start} a {end}"},
}


def _words(language: str) -> dict:
    return _WORDS.get(language[:2], _WORDS["en"])


def spoken_time(moment: time, language: str = "en-US") -> str:
    """8:00 -> "8 AM", 17:30 -> "5:30 PM", 12:00 -> "noon" (in Spanish "8 a. m.", "mediodía")."""
    words = _words(language)
    if moment == time(12, 0):
        return words["noon"]
    if moment in (time(0, 0), time.max):
        return words["midnight"]
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {words['am'] if moment.hour < 12 else words['pm']}"


def describe_week(hours: Hours, language: str = "en-US") -> str:
    """The weekly hours in words, grouping days with the same hours: "Monday to Friday, 8 AM to 5 PM"
    (in Spanish: "lunes a viernes, de 8 a. m. a 5 p. m.")."""
    words = _words(language)
    parts = []
    for first, last, ranges in _groups(hours):
        if not ranges:
            continue
        days = words["days"][first]
        if first != last:
            days += f" {words['through']} {words['days'][last]}"
        times = f" {words['and']} ".join(
            words["range"].format(start=spoken_time(a, language), end=spoken_time(b, language))
            for a, b in ranges)
        parts.append(f"{days}, {times}")
    return "; ".join(parts)


def _groups(hours: Hours) -> list[tuple[int, int, tuple]]:
    """Runs of consecutive weekdays with the same hours: (first day, last day, ranges)."""
    groups: list[tuple[int, int, tuple]] = []
    for index, ranges in enumerate(hours.weekly):
        if groups and groups[-1][2] == ranges and groups[-1][1] == index - 1:
            groups[-1] = (groups[-1][0], index, ranges)
        else:
            groups.append((index, index, ranges))
    return groups


_OPENING = {
    "en": {"never": "on a later date", "today": "today {at}", "tomorrow": "tomorrow {at}",
           "weekday": "on {day} {at}", "date": "on {day}, {month} {date} {at}", "at": "at {time}",
           "at_one": "at {time}",
           "months": ("January", "February", "March", "April", "May", "June", "July", "August",
                      "September", "October", "November", "December")},
    "es": {"never": "más adelante", "today": "hoy {at}", "tomorrow": "mañana {at}",
           "weekday": "el {day} {at}", "date": "el {day} {date} de {month} {at}", "at": "a las {time}",
           "at_one": "a la {time}",
           "months": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                      "septiembre", "octubre", "noviembre", "diciembre")},
}


def describe_opening(opening: datetime | None, now: datetime, language: str = "en-US",
                     relative: bool = True) -> str:
    """When the line opens next, as said on the phone: "today at 1 PM", "tomorrow at 8 AM",
    "on Monday at 8 AM", "on Friday, January 2 at 8 AM" (in Spanish: "mañana a las 8 a. m.").
    relative=False never says today or tomorrow (a text may be read the next day): the weekday."""
    words = _OPENING.get(language[:2], _OPENING["en"])
    if opening is None:
        return words["never"]
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    # Spanish says "a la 1" for one o'clock, "a las 8" for the others.
    one = opening.hour % 12 == 1 and opening.time() not in (time(12, 0), time(0, 0))
    at = words["at_one" if one else "at"].format(time=spoken_time(opening.time(), language))
    day = _words(language)["days"][opening.weekday()]
    if relative and days == 0:
        return words["today"].format(at=at)
    if relative and days == 1:
        return words["tomorrow"].format(at=at)
    if days < 7:
        return words["weekday"].format(day=day, at=at)
    return words["date"].format(day=day, month=words["months"][opening.month - 1], date=opening.day, at=at)
