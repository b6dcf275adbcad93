"""The service desk's business calendar: when the clock of a service level runs.

Working time is a set of intervals of local wall-clock time per weekday (default
Monday–Friday 08:30–17:00; a day may have a lunch break or be closed), minus the
public holidays of a country (the ``holidays`` package, default Belgium) and the
extra closing days of the organisation.

Conventions used by every method of :class:`BusinessCalendar`:

* Inputs are timezone-aware datetimes in any zone (UTC from the database is fine);
  a naive datetime is refused with :class:`ValueError`, because guessing its zone
  would silently shift deadlines by one or two hours.
* Outputs are timezone-aware datetimes in the calendar's zone (``Europe/Brussels``
  by default), so ``str(dt)`` or ``dt.strftime`` show what the requester sees.
* Durations are real elapsed time, computed in UTC: a working interval that spans
  a daylight-saving change (say a 24-hour desk on 29 March) counts 23 or 25 hours.
* An interval includes its start and excludes its end: with 08:30–17:00, 08:30 is
  working time and 17:00 is not.
* Nothing reads the clock; "now" is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.errors import ConfigError

if TYPE_CHECKING:
    from types import ModuleType


def _holidays() -> ModuleType:
    """The ``holidays`` package, imported when first needed: loading a country's holidays imports every
    country's module (about 0.15 s of CPU), which a start that computes no due time does not need."""
    import holidays

    return holidays


def _is_known_country(code: str) -> bool:
    """Whether ``holidays`` knows the country code ``code``, without importing the countries' modules."""
    from holidays.registry import EntityLoader

    return code in set(EntityLoader.get_country_codes())


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
"""Weekday keys in ``date.weekday()`` order (Monday is 0)."""

DEFAULT_HOURS: dict[Weekday, str | None] = {
    "mon": "08:30-17:00",
    "tue": "08:30-17:00",
    "wed": "08:30-17:00",
    "thu": "08:30-17:00",
    "fri": "08:30-17:00",
    "sat": None,
    "sun": None,
}

_CLOSED_WORDS = frozenset({"", "closed", "-", "none", "off"})
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_MAX_IDLE_DAYS = 3660
"""A calendar with no working time in ten consecutive years is considered broken."""

Interval = tuple[datetime, datetime]
"""A working interval as two UTC datetimes, start included, end excluded."""


def _parse_range(text: str) -> tuple[int, int]:
    """``"08:30-17:00"`` → minutes since midnight ``(510, 1020)``; ``24:00`` is allowed as an end."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time range: write it like '08:30-17:00'")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} contains an impossible time (hours 00-23, minutes 00-59, or 24:00 as end)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def _split_day(value: str | Sequence[str] | None) -> list[str]:
    """The ranges of one day from ``None``, ``"closed"``, ``"08:30-12:00, 13:00-17:00"`` or a list."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    ranges = [part.strip() for part in parts]
    if all(part.lower() in _CLOSED_WORDS for part in ranges):
        return []
    return ranges


def parse_day_hours(value: str | Sequence[str] | None) -> tuple[tuple[int, int], ...]:
    """Parse one day's opening hours into sorted ``(start, end)`` minute pairs; ``()`` means closed.

    Accepts ``None``/``""``/``"closed"`` (closed), ``"08:30-17:00"``, ``"08:30-12:00, 13:00-17:00"``
    or a list of ranges. Overlapping ranges are refused; touching ranges are merged.
    """
    ranges = sorted(_parse_range(part) for part in _split_day(value))
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start < merged[-1][1]:
            raise ValueError(f"the ranges {_fmt(merged[-1])} and {_fmt((start, end))} overlap")
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _fmt(minutes: tuple[int, int]) -> str:
    (h1, m1), (h2, m2) = divmod(minutes[0], 60), divmod(minutes[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


DayHours = str | list[str] | tuple[str, ...] | None
"""One day's opening hours as written in the configuration."""


def _default_hours() -> dict[str, DayHours]:
    return {day: hours for day, hours in DEFAULT_HOURS.items()}


class CalendarConfig(BaseModel):
    """The ``[sla.calendar]`` section: opening hours, holidays and closing days.

    ``hours`` maps weekday keys (``mon`` … ``sun``) to ranges such as ``"08:30-17:00"``,
    ``"08:30-12:00, 13:00-17:00"`` or a list of ranges; ``None``, ``""`` or ``"closed"``
    closes the day. Days that are not listed keep the default (Monday–Friday
    08:30–17:00, weekend closed), so ``hours = {thu = "08:30-19:00"}`` only extends
    Thursday. After validation every weekday is present, as a tuple of canonical
    ``"HH:MM-HH:MM"`` strings (empty when closed).

    ``country`` and ``subdivision`` choose the public holidays of the ``holidays``
    package (``""`` or ``None`` as country: no public holidays);
    ``holiday_categories`` may add e.g. ``"bank"`` (Good Friday, 26 December in
    Belgium). ``extra_closed_days`` lists one-off dates (bridge days, moving day);
    ``recurring_closed_days`` lists ``"MM-DD"`` days closed every year, e.g. the
    French Community's 27 September (``"09-27"``), the King's Feast ``"11-15"``
    or ``"12-26"``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Europe/Brussels"
    country: str | None = "BE"
    subdivision: str | None = None
    holiday_categories: tuple[str, ...] = ("public",)
    holiday_language: str | None = "fr"
    """Language of holiday names (``holiday_name``); ignored when the country does not offer it."""
    hours: Mapping[str, DayHours] = Field(default_factory=lambda: _default_hours(), validate_default=True)
    extra_closed_days: tuple[date, ...] = ()
    recurring_closed_days: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Brussels'") from None
        return value

    @field_validator("country", "subdivision", "holiday_language")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None

    @field_validator("hours")
    @classmethod
    def _canonical_hours(cls, value: Mapping[str, DayHours]) -> dict[str, DayHours]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday {', '.join(unknown)}: use {', '.join(WEEKDAYS)}")
        result: dict[str, DayHours] = {}
        for day in WEEKDAYS:
            raw = value[day] if day in value else DEFAULT_HOURS[day]
            try:
                ranges = parse_day_hours(raw)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from None
            result[day] = tuple(_fmt(r) for r in ranges)
        if not any(result.values()):
            raise ValueError("every weekday is closed: open at least one day")
        return result

    @field_validator("recurring_closed_days")
    @classmethod
    def _month_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            match = _MONTH_DAY.fullmatch(item.strip())
            # 2000 is a leap year, so "02-29" is accepted (and applies in leap years only).
            try:
                if match is None:
                    raise ValueError
                date(2000, int(match[1]), int(match[2]))
            except ValueError:
                raise ValueError(f"{item!r} is not a day of the year: write it like '12-26' (MM-DD)") from None
        return tuple(item.strip() for item in value)

    @model_validator(mode="after")
    def _known_holidays(self) -> CalendarConfig:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("a subdivision needs a country")
            return self
        if self.subdivision is None and self.holiday_categories == ("public",) and _is_known_country(self.country):
            return self  # every known country has public holidays: nothing more to check, nothing to import
        holidays = _holidays()
        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision, categories=self.holiday_categories)
        except NotImplementedError as exc:
            if self.subdivision is not None and "subdivision" in str(exc):
                entity = holidays.country_holidays(self.country)
                raise ValueError(
                    f"country {self.country!r} has no subdivision {self.subdivision!r}; "
                    f"choose one of: {', '.join(entity.subdivisions) or '(none)'}"
                ) from None
            raise ValueError(
                f"no public holidays are known for country {self.country!r}: use an ISO code such as 'BE'"
            ) from None
        except ValueError as exc:
            raise ValueError(f"holiday_categories: {exc}") from None
        return self

    def weekly_hours(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Opening ranges in minutes since midnight, indexed by ``date.weekday()``."""
        return tuple(parse_day_hours(self.hours.get(day)) for day in WEEKDAYS)


class BusinessCalendar:
    """Working-time arithmetic for one service desk (see the module docstring for conventions).

    Build it from a :class:`CalendarConfig` (``BusinessCalendar(config)``); the default
    config is Belgium, Europe/Brussels, Monday–Friday 08:30–17:00. Holidays are
    computed once per year and kept; instances are safe to share between threads.
    """

    def __init__(self, config: CalendarConfig | None = None) -> None:
        self.config = config or CalendarConfig()
        self.tz = ZoneInfo(self.config.timezone)
        self._weekly = self.config.weekly_hours()
        self._extra = frozenset(self.config.extra_closed_days)
        self._recurring = frozenset((int(item[:2]), int(item[3:])) for item in self.config.recurring_closed_days)
        self._holidays_by_year: dict[int, Mapping[date, str]] = {}
        self._day_intervals = lru_cache(maxsize=4096)(self._compute_day_intervals)

    # --- days -------------------------------------------------------------------------------

    def public_holidays(self, year: int) -> Mapping[date, str]:
        """The public holidays of ``year`` with their names (computed once per year, read-only)."""
        cached = self._holidays_by_year.get(year)
        if cached is None:
            found_names: dict[date, str] = {}
            if self.config.country is not None:
                holidays = _holidays()
                # the names' language, if the country offers it (asked here: it loads the country's module)
                entity = holidays.country_holidays(self.config.country)
                language = self.config.holiday_language
                found = holidays.country_holidays(
                    self.config.country,
                    subdiv=self.config.subdivision,
                    categories=self.config.holiday_categories,
                    language=language if language in entity.supported_languages else None,
                    years=year,
                )
                found_names = {day: str(name) for day, name in found.items()}
            cached = MappingProxyType(found_names)
            self._holidays_by_year[year] = cached
        return cached

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name on ``day``, or ``None`` when it is not one."""
        return self.public_holidays(day.year).get(day)

    def is_closed_day(self, day: date) -> bool:
        """Whether ``day`` is a public holiday or an extra (one-off or yearly) closing day."""
        return day in self._extra or (day.month, day.day) in self._recurring or day in self.public_holidays(day.year)

    def is_working_day(self, day: date) -> bool:
        """Whether the desk opens on ``day`` (a local date): open weekday and not closed."""
        return bool(self._weekly[day.weekday()]) and not self.is_closed_day(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self._step_working_days(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day`` (e.g. for "the working day before a visit")."""
        return self._step_working_days(day, -1)

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of ``day`` as local aware datetimes (empty on closed days)."""
        return [(s.astimezone(self.tz), e.astimezone(self.tz)) for s, e in self._day_intervals(day)]

    # --- instants ---------------------------------------------------------------------------

    def is_working_time(self, moment: datetime) -> bool:
        """Whether the desk is open at ``moment``."""
        instant = self._utc(moment)
        day = instant.astimezone(self.tz).date()
        return any(start <= instant < end for start, end in self._day_intervals(day))

    def is_within_working_hours(self, start: datetime, duration: timedelta = timedelta(0)) -> bool:
        """Whether ``[start, start + duration]`` lies in working time without interruption.

        For an on-site visit: ``is_within_working_hours(visit_at)`` checks the start;
        with ``duration`` the whole visit must end by the closing time (or the lunch break).
        """
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        if not self.is_working_time(start):
            return False
        instant = self._utc(start)
        end = instant + duration
        for span_start, span_end in self._forward(instant):
            if span_start > instant:
                return False  # a gap before the visit ends
            if end <= span_end:
                return True
            instant = span_end
        raise AssertionError("unreachable: _forward never ends")  # pragma: no cover

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when the desk is open, otherwise the next opening time."""
        start, _ = next(self._forward(self._utc(moment)))
        return start.astimezone(self.tz)

    def clamp_to_working_day(self, moment: datetime) -> datetime:
        """Bring ``moment`` inside its own day's working hours.

        Before opening → the opening time; after closing → the closing time; during a
        break → the start of the break. A moment in working time, or on a closed day,
        is returned unchanged (in local time).
        """
        instant = self._utc(moment)
        intervals = self._day_intervals(instant.astimezone(self.tz).date())
        if not intervals or any(s <= instant < e for s, e in intervals):
            return instant.astimezone(self.tz)
        if instant < intervals[0][0]:
            return intervals[0][0].astimezone(self.tz)
        previous_end = max(e for _, e in intervals if e <= instant)
        return previous_end.astimezone(self.tz)

    # --- arithmetic -------------------------------------------------------------------------

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment when ``amount`` of working time has passed since ``start``.

        Example: Friday 16:30 + 1 h → Monday 09:00 (30 minutes on each side of the
        weekend). A budget that runs out exactly at closing time gives the closing time
        (Friday 16:00 + 1 h → Friday 17:00). A zero ``amount`` returns ``start``; a
        negative one walks backwards.
        """
        instant = self._utc(start)
        if amount == timedelta(0):
            return instant.astimezone(self.tz)
        if amount < timedelta(0):
            return self._subtract_working_time(instant, -amount)
        remaining = amount
        for span_start, span_end in self._forward(instant):
            span = span_end - span_start
            if span >= remaining:
                return (span_start + remaining).astimezone(self.tz)
            remaining -= span
        raise AssertionError("unreachable: _forward never ends")  # pragma: no cover

    def _subtract_working_time(self, instant: datetime, amount: timedelta) -> datetime:
        remaining = amount
        for span_start, span_end in self._backward(instant):
            span = span_end - span_start
            if span >= remaining:
                return (span_end - remaining).astimezone(self.tz)
            remaining -= span
        raise AssertionError("unreachable: _backward never ends")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end``; negative when ``end`` is before ``start``.

        The sign makes "time left" natural: ``working_time_between(now, due)`` is negative
        once the deadline has passed. It is the inverse of :meth:`add_working_time`:
        ``working_time_between(a, add_working_time(a, d)) == d``.
        """
        a, b = self._utc(start), self._utc(end)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        for span_start, span_end in self._forward(a):
            if span_start >= b:
                break
            total += min(span_end, b) - span_start
        return total

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local wall-clock time on the ``days``-th working day after ``start``'s date.

        Used for "close after 7 working days without an answer": counting starts on the
        day after ``start`` (whatever ``start``'s day is), and weekends, holidays and
        closing days are skipped. Negative ``days`` count backwards; ``0`` returns
        ``start``. The time is kept even if it is outside working hours (use
        :meth:`clamp_to_working_day` for a deadline that must fall in opening hours).
        """
        local = self._utc(start).astimezone(self.tz)
        if days == 0:
            return local
        target = self._step_working_days(local.date(), days)
        wall = datetime.combine(target, local.time().replace(fold=0), tzinfo=self.tz)
        # A round trip through UTC moves a non-existent wall time (DST gap) to a real one.
        return wall.astimezone(UTC).astimezone(self.tz)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days in ``(start's date, end's date]`` (local dates); negative when ``end`` is earlier.

        It is the inverse of :meth:`add_working_days`:
        ``working_days_between(a, add_working_days(a, n)) == n``.
        """
        first = self._utc(start).astimezone(self.tz).date()
        last = self._utc(end).astimezone(self.tz).date()
        if last < first:
            return -self.working_days_between(end, start)
        day, count = first, 0
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    # --- internals --------------------------------------------------------------------------

    def _utc(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment.isoformat()}: pass a timezone-aware datetime (UTC is fine)")
        return moment.astimezone(UTC)

    def _compute_day_intervals(self, day: date) -> tuple[Interval, ...]:
        ranges = self._weekly[day.weekday()]
        if not ranges or self.is_closed_day(day):
            return ()
        midnight = datetime.combine(day, time(0))
        return tuple(
            (
                self._wall_to_utc(midnight + timedelta(minutes=s)),
                self._wall_to_utc(midnight + timedelta(minutes=e)),
            )
            for s, e in ranges
        )

    def _wall_to_utc(self, wall: datetime) -> datetime:
        # fold=0: an ambiguous wall time (autumn) is its first occurrence; a
        # non-existent one (spring) is read with the winter offset, i.e. one hour later.
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def _days(self, start: date, step: int) -> Iterator[date]:
        """Days from ``start`` onwards (``step`` ±1), failing after ten years without working time."""
        day, idle = start, 0
        while True:
            yield day
            idle = 0 if self._day_intervals(day) else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ConfigError(detail="the business calendar has no working time in ten years")
            day += timedelta(days=step)

    def _forward(self, instant: datetime) -> Iterator[Interval]:
        """Working intervals ending after ``instant``, the first one cut to start at ``instant``."""
        for day in self._days(instant.astimezone(self.tz).date(), 1):
            for start, end in self._day_intervals(day):
                if end > instant:
                    yield max(start, instant), end

    def _backward(self, instant: datetime) -> Iterator[Interval]:
        """Working intervals starting before ``instant``, latest first, cut to end at ``instant``."""
        for day in self._days(instant.astimezone(self.tz).date(), -1):
            for start, end in reversed(self._day_intervals(day)):
                if start < instant:
                    yield start, min(end, instant)

    def _step_working_days(self, day: date, count: int) -> date:
        step = 1 if count > 0 else -1
        remaining = abs(count)
        days = self._days(day, step)
        next(days)  # counting starts on the following day
        for candidate in days:
            if self.is_working_day(candidate):
                remaining -= 1
                if remaining == 0:
                    return candidate
        raise AssertionError("unreachable: _days never ends")  # pragma: no cover


def merge_intervals(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sort and merge overlapping or touching ``(start, end)`` pairs; empty or inverted pairs are dropped."""
    result: list[tuple[datetime, datetime]] = []
    for start, end in sorted((s, e) for s, e in intervals if e > s):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


__all__ = [
    "DEFAULT_HOURS",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarConfig",
    "Interval",
    "Weekday",
    "merge_intervals",
    "parse_day_hours",
]
