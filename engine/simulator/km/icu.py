"""ICU date/time patterns (as in %ICUDateTime%yyyy-MM-dd%), in US English."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import datetime, timedelta

_FIELD = re.compile(r"'([^']*)'|([A-Za-z])\2*|[^A-Za-z']+")

MONTHS = tuple(calendar.month_name)[1:]
DAYS = tuple(calendar.day_name)  # Monday first, as datetime.weekday() counts


def _year(d: datetime, n: int) -> str:
    return f"{d.year % 100:02d}" if n == 2 else f"{d.year:0{n}d}"


def _month(d: datetime, n: int) -> str:
    name = MONTHS[d.month - 1]
    return {1: str(d.month), 2: f"{d.month:02d}", 3: name[:3], 4: name}.get(n, name[0])


def _weekday(d: datetime, n: int) -> str:
    name = DAYS[d.weekday()]
    return name if n == 4 else name[0] if n >= 5 else name[:3]


def _hour12(d: datetime, n: int) -> str:
    return f"{(d.hour % 12) or 12:0{n}d}"


def _fraction(d: datetime, n: int) -> str:
    return f"{d.microsecond:06d}"[:n].ljust(n, "0")


def _millis_in_day(d: datetime, n: int) -> str:
    millis = ((d.hour * 60 + d.minute) * 60 + d.second) * 1000 + d.microsecond // 1000
    return f"{millis:0{n}d}"


def _offset(d: datetime, n: int) -> str:
    delta = d.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if n >= 4 else f"{sign}{hours:02d}{mins:02d}"


FIELDS: dict[str, Callable[[datetime, int], str]] = {
    "y": _year,
    "M": _month,
    "L": _month,
    "d": lambda d, n: f"{d.day:0{n}d}",
    "D": lambda d, n: f"{d.timetuple().tm_yday:0{n}d}",
    "E": _weekday,
    "a": lambda d, n: "AM" if d.hour < 12 else "PM",
    "h": _hour12,
    "H": lambda d, n: f"{d.hour:0{n}d}",
    "k": lambda d, n: f"{d.hour or 24:0{n}d}",
    "K": lambda d, n: f"{d.hour % 12:0{n}d}",
    "m": lambda d, n: f"{d.minute:0{n}d}",
    "s": lambda d, n: f"{d.second:0{n}d}",
    "S": _fraction,
    "A": _millis_in_day,
    "Z": _offset,
    "x": _offset,
    "z": lambda d, n: d.tzname() or "GMT",
}


def format_icu(moment: datetime, pattern: str) -> str:
    """Format ``moment`` with an ICU pattern; unknown letters stay as they are.

    >>> format_icu(datetime(2015, 11, 28, 15, 4, 5), "EEE, MMM d, yyyy 'at' h:mm a")
    'Sat, Nov 28, 2015 at 3:04 PM'
    """
    out = []
    for match in _FIELD.finditer(pattern[:200]):
        quoted, letter = match.group(1), match.group(2)
        if quoted is not None:
            out.append(quoted or "'")
        elif letter in FIELDS:
            out.append(FIELDS[letter](moment, min(len(match.group(0)), 9)))
        else:
            out.append(match.group(0))
    return "".join(out)


UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}


def shift(moment: datetime, amount: int, unit: str) -> datetime:
    """``moment`` moved by ``amount`` units (seconds … weeks, months, years).

    >>> shift(datetime(2024, 1, 31), 1, "Months").date()
    datetime.date(2024, 2, 29)
    """
    key = unit.strip().lower().removesuffix("s")
    if key in UNITS:
        return moment + UNITS[key] * amount
    if key in ("month", "year"):
        months = moment.month - 1 + amount * (12 if key == "year" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    raise ValueError(
        f"unknown time unit '{unit}' (use Seconds, Minutes, Hours, Days, Weeks, Months or Years)"
    )
