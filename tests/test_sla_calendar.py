"""Working-time arithmetic on concrete Belgian dates (2026–2027)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.errors import ConfigError
from bot.sla.calendar import BusinessCalendar, CalendarConfig, merge_intervals, parse_day_hours

BXL = ZoneInfo("Europe/Brussels")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Brussels wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=BXL)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


def same(a: datetime, b: datetime) -> bool:
    """Same instant *and* expressed in the calendar's zone."""
    return a == b and a.tzinfo == BXL


# --- days ---------------------------------------------------------------------------------------

BELGIAN_HOLIDAYS_2026 = [
    date(2026, 1, 1),  # New Year (Thursday)
    date(2026, 4, 6),  # Easter Monday
    date(2026, 5, 1),  # Labour Day (Friday)
    date(2026, 5, 14),  # Ascension (Thursday)
    date(2026, 5, 25),  # Whit Monday
    date(2026, 7, 21),  # National Day (Tuesday)
    date(2026, 8, 15),  # Assumption (Saturday)
    date(2026, 11, 1),  # All Saints (Sunday)
    date(2026, 11, 11),  # Armistice (Wednesday)
    date(2026, 12, 25),  # Christmas (Friday)
]


@pytest.mark.parametrize("day", BELGIAN_HOLIDAYS_2026, ids=str)
def test_belgian_public_holidays_2026_are_closed(cal: BusinessCalendar, day: date) -> None:
    assert cal.is_closed_day(day)
    assert not cal.is_working_day(day)
    assert cal.holiday_name(day)
    assert day in cal.public_holidays(2026)


@pytest.mark.parametrize("day", [date(2027, 1, 1), date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)], ids=str)
def test_belgian_public_holidays_2027_are_closed(cal: BusinessCalendar, day: date) -> None:
    assert not cal.is_working_day(day)


def test_ordinary_days(cal: BusinessCalendar) -> None:
    assert cal.is_working_day(date(2026, 4, 7))  # Tuesday after Easter Monday
    assert cal.is_working_day(date(2026, 4, 3))  # Good Friday is not a public holiday in Belgium
    assert not cal.is_working_day(date(2026, 4, 4))  # Saturday
    assert not cal.is_working_day(date(2026, 4, 5))  # Sunday
    assert cal.holiday_name(date(2026, 4, 7)) is None
    assert len(cal.public_holidays(2026)) == 12  # the ten above plus Easter Sunday and Whit Sunday


def test_holiday_names_are_french_by_default(cal: BusinessCalendar) -> None:
    assert cal.holiday_name(date(2026, 7, 21)) == "Fête nationale"


def test_unsupported_holiday_language_falls_back_to_the_country_default() -> None:
    german = BusinessCalendar(CalendarConfig(country="DE", subdivision="BY", holiday_language="fr"))
    assert german.holiday_name(date(2026, 10, 3))  # Tag der Deutschen Einheit, named in German
    assert not german.is_working_day(date(2026, 10, 3))


def test_holidays_are_cached_per_year(cal: BusinessCalendar) -> None:
    first = cal.public_holidays(2026)
    assert cal.public_holidays(2026) is first
    assert cal.public_holidays(2027) is not first


def test_bank_category_adds_good_friday() -> None:
    banks = BusinessCalendar(CalendarConfig(holiday_categories=("public", "bank")))
    assert not banks.is_working_day(date(2026, 4, 3))
    assert banks.previous_working_day(date(2026, 4, 7)) == date(2026, 4, 2)


def test_no_country_means_no_public_holidays() -> None:
    plain = BusinessCalendar(CalendarConfig(country=""))
    assert plain.is_working_day(date(2026, 7, 21))
    assert plain.public_holidays(2026) == {}


def test_next_and_previous_working_day(cal: BusinessCalendar) -> None:
    assert cal.next_working_day(date(2026, 4, 3)) == date(2026, 4, 7)  # over Easter Monday
    assert cal.previous_working_day(date(2026, 4, 7)) == date(2026, 4, 3)
    assert cal.next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)


# --- instants -----------------------------------------------------------------------------------


def test_interval_includes_start_and_excludes_end(cal: BusinessCalendar) -> None:
    assert not cal.is_working_time(at(2026, 4, 7, 8, 29))
    assert cal.is_working_time(at(2026, 4, 7, 8, 30))
    assert cal.is_working_time(at(2026, 4, 7, 16, 59))
    assert not cal.is_working_time(at(2026, 4, 7, 17, 0))
    assert not cal.is_working_time(at(2026, 4, 6, 10, 0))  # Easter Monday


def test_utc_input_is_converted_with_the_right_offset(cal: BusinessCalendar) -> None:
    # Winter (UTC+1): 07:30Z is 08:30 in Brussels; summer (UTC+2): 06:30Z is 08:30.
    assert cal.is_working_time(datetime(2026, 1, 6, 7, 30, tzinfo=UTC))
    assert not cal.is_working_time(datetime(2026, 1, 6, 7, 29, tzinfo=UTC))
    assert cal.is_working_time(datetime(2026, 6, 9, 6, 30, tzinfo=UTC))
    assert not cal.is_working_time(datetime(2026, 6, 9, 6, 29, tzinfo=UTC))
    assert not cal.is_working_time(datetime(2026, 6, 9, 15, 0, tzinfo=UTC))  # 17:00 CEST


def test_naive_datetimes_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        cal.is_working_time(datetime(2026, 4, 7, 10, 0))
    with pytest.raises(ValueError, match="naive datetime"):
        cal.add_working_time(datetime(2026, 4, 7, 10, 0), timedelta(hours=1))


def test_next_working_moment(cal: BusinessCalendar) -> None:
    assert same(cal.next_working_moment(at(2026, 4, 7, 10, 15)), at(2026, 4, 7, 10, 15))
    assert same(cal.next_working_moment(at(2026, 4, 3, 17, 0)), at(2026, 4, 7, 8, 30))
    assert same(cal.next_working_moment(at(2026, 3, 28, 12, 0)), at(2026, 3, 30, 8, 30))
    assert same(cal.next_working_moment(at(2026, 4, 7, 6, 0)), at(2026, 4, 7, 8, 30))
    assert same(cal.next_working_moment(datetime(2026, 4, 7, 8, 0, tzinfo=UTC)), at(2026, 4, 7, 10, 0))


def test_working_intervals_are_local(cal: BusinessCalendar) -> None:
    assert cal.working_intervals(date(2026, 4, 7)) == [(at(2026, 4, 7, 8, 30), at(2026, 4, 7, 17, 0))]
    assert cal.working_intervals(date(2026, 4, 6)) == []


# --- add_working_time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        # P1 response from Friday 16:30: 30 minutes on Friday, 30 on Monday (and over the DST weekend).
        (at(2026, 3, 27, 16, 30), timedelta(hours=1), at(2026, 3, 30, 9, 0)),
        # Over Easter Monday.
        (at(2026, 4, 3, 16, 30), timedelta(hours=1), at(2026, 4, 7, 9, 0)),
        # Over the National Day (Tuesday 21 July).
        (at(2026, 7, 20, 16, 30), timedelta(hours=1), at(2026, 7, 22, 9, 0)),
        # Over Armistice Day (Wednesday 11 November).
        (at(2026, 11, 10, 16, 0), timedelta(hours=2), at(2026, 11, 12, 9, 30)),
        # Over Ascension Thursday: Wednesday 16:00 + 1h30 → Friday 09:00.
        (at(2026, 5, 13, 16, 0), timedelta(hours=1, minutes=30), at(2026, 5, 15, 9, 0)),
        # Over Christmas (Friday) and the weekend.
        (at(2026, 12, 24, 16, 0), timedelta(hours=2), at(2026, 12, 28, 9, 30)),
        # Over New Year 2027 (Friday).
        (at(2026, 12, 31, 16, 0), timedelta(hours=1, minutes=30), at(2027, 1, 4, 9, 0)),
        # Over Whit Monday.
        (at(2026, 5, 22, 16, 0), timedelta(hours=3), at(2026, 5, 26, 10, 30)),
        # A budget ending exactly at closing time gives the closing time, not next opening.
        (at(2026, 5, 13, 16, 0), timedelta(hours=1), at(2026, 5, 13, 17, 0)),
        # Starting before opening, or on a weekend.
        (at(2026, 6, 8, 7, 0), timedelta(hours=1), at(2026, 6, 8, 9, 30)),
        (at(2026, 6, 6, 11, 0), timedelta(hours=1), at(2026, 6, 8, 9, 30)),
        # A whole holiday-free week: 5 × 8.5 h.
        (at(2026, 6, 8, 8, 30), timedelta(hours=42, minutes=30), at(2026, 6, 12, 17, 0)),
        # Over the autumn DST change (Sunday 25 October 2026).
        (at(2026, 10, 23, 16, 0), timedelta(hours=2), at(2026, 10, 26, 9, 30)),
    ],
)
def test_add_working_time(cal: BusinessCalendar, start: datetime, amount: timedelta, expected: datetime) -> None:
    result = cal.add_working_time(start, amount)
    assert same(result, expected)
    assert result.utcoffset() == expected.utcoffset()


def test_add_working_time_from_utc_returns_brussels_time(cal: BusinessCalendar) -> None:
    result = cal.add_working_time(datetime(2026, 3, 27, 15, 30, tzinfo=UTC), timedelta(hours=1))
    assert same(result, at(2026, 3, 30, 9, 0))
    assert result.utcoffset() == timedelta(hours=2)
    assert result.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_add_zero_and_negative_working_time(cal: BusinessCalendar) -> None:
    saturday = at(2026, 6, 6, 11, 0)
    assert same(cal.add_working_time(saturday, timedelta(0)), saturday)
    assert same(cal.add_working_time(at(2026, 3, 30, 9, 0), -timedelta(hours=1)), at(2026, 3, 27, 16, 30))
    assert same(cal.add_working_time(at(2026, 4, 7, 8, 45), -timedelta(minutes=30)), at(2026, 4, 3, 16, 45))


# --- working_time_between -----------------------------------------------------------------------


def test_working_time_between(cal: BusinessCalendar) -> None:
    assert cal.working_time_between(at(2026, 3, 27, 16, 30), at(2026, 3, 30, 9, 0)) == timedelta(hours=1)
    assert cal.working_time_between(at(2026, 3, 30, 9, 0), at(2026, 3, 27, 16, 30)) == -timedelta(hours=1)
    assert cal.working_time_between(at(2026, 4, 7, 10), at(2026, 4, 7, 10)) == timedelta(0)
    assert cal.working_time_between(at(2026, 4, 4, 10), at(2026, 4, 6, 20)) == timedelta(0)  # Sat → Easter Mon
    # A holiday-free week versus the Ascension week.
    assert cal.working_time_between(at(2026, 6, 8, 8, 30), at(2026, 6, 15, 8, 30)) == timedelta(hours=42.5)
    assert cal.working_time_between(at(2026, 5, 11, 8, 30), at(2026, 5, 18, 8, 30)) == timedelta(hours=34)
    # Working hours are not changed by DST: the spring-forward weekend counts two normal days.
    assert cal.working_time_between(at(2026, 3, 27, 8, 30), at(2026, 3, 30, 17, 0)) == timedelta(hours=17)


def test_working_time_between_is_the_inverse_of_add_working_time(cal: BusinessCalendar) -> None:
    starts = [at(2026, 3, 27, 16, 30), at(2026, 4, 3, 12, 0), at(2026, 12, 24, 7, 0), at(2026, 10, 24, 3, 0)]
    amounts = [timedelta(minutes=1), timedelta(hours=1), timedelta(hours=8, minutes=30), timedelta(hours=50)]
    for start in starts:
        for amount in amounts:
            end = cal.add_working_time(start, amount)
            assert cal.working_time_between(start, end) == amount, (start, amount)


def test_a_full_year_of_working_time(cal: BusinessCalendar) -> None:
    # 2026: 261 weekdays, 8 public holidays on weekdays (15 August and 1 November are on weekends).
    total = cal.working_time_between(at(2026, 1, 1), at(2027, 1, 1))
    assert total == timedelta(hours=8.5) * (261 - 8)


# --- DST on a round-the-clock desk --------------------------------------------------------------


@pytest.fixture(scope="module")
def always_open() -> BusinessCalendar:
    hours: dict[str, str | list[str] | tuple[str, ...] | None] = {
        day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    return BusinessCalendar(CalendarConfig(country=None, hours=hours))


def test_spring_forward_day_has_23_hours(always_open: BusinessCalendar) -> None:
    assert always_open.working_time_between(at(2026, 3, 29), at(2026, 3, 30)) == timedelta(hours=23)
    # 00:00 + 3 h of real time is 04:00 local: 02:00–03:00 does not exist that night.
    assert same(always_open.add_working_time(at(2026, 3, 29), timedelta(hours=3)), at(2026, 3, 29, 4, 0))


def test_fall_back_day_has_25_hours(always_open: BusinessCalendar) -> None:
    assert always_open.working_time_between(at(2026, 10, 25), at(2026, 10, 26)) == timedelta(hours=25)
    result = always_open.add_working_time(at(2026, 10, 25), timedelta(hours=3))
    assert result.astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # second 02:00, in winter time
    assert result.utcoffset() == timedelta(hours=1)


def test_midnight_is_working_time_on_a_round_the_clock_desk(always_open: BusinessCalendar) -> None:
    assert always_open.is_working_time(at(2026, 3, 29, 0, 0))
    assert always_open.is_within_working_hours(at(2026, 3, 28, 23, 30), timedelta(hours=2))


# --- working days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # "Close after 7 working days": Tuesday 12 May 2026 skips Ascension Thursday.
        (at(2026, 5, 12, 10, 0), 7, at(2026, 5, 22, 10, 0)),
        # Friday + 2 working days skips the weekend and the National Day.
        (at(2026, 7, 17, 15, 0), 2, at(2026, 7, 22, 15, 0)),
        # From a Saturday the count starts on Monday; the wall time is kept across DST (+1 → +2).
        (at(2026, 3, 28, 10, 0), 1, at(2026, 3, 30, 10, 0)),
        # The working day before a visit on Tuesday after Easter Monday is Good Friday.
        (at(2026, 4, 7, 10, 0), -1, at(2026, 4, 3, 10, 0)),
        # Over Christmas and New Year.
        (at(2026, 12, 23, 9, 0), 6, at(2027, 1, 4, 9, 0)),
        (at(2026, 4, 7, 10, 0), 0, at(2026, 4, 7, 10, 0)),
    ],
)
def test_add_working_days(cal: BusinessCalendar, start: datetime, days: int, expected: datetime) -> None:
    result = cal.add_working_days(start, days)
    assert same(result, expected)
    assert result.utcoffset() == expected.utcoffset()
    assert cal.working_days_between(start, result) == days


def test_add_working_days_keeps_a_late_time_of_day(cal: BusinessCalendar) -> None:
    assert same(cal.add_working_days(at(2026, 6, 8, 20, 0), 1), at(2026, 6, 9, 20, 0))


def test_working_days_between(cal: BusinessCalendar) -> None:
    assert cal.working_days_between(at(2026, 3, 27, 16), at(2026, 3, 30, 9)) == 1
    assert cal.working_days_between(at(2026, 3, 30, 9), at(2026, 3, 27, 16)) == -1
    assert cal.working_days_between(at(2026, 4, 7, 8), at(2026, 4, 7, 18)) == 0
    # 24, 28, 29, 30, 31 December and 4 January (Christmas and New Year are Fridays).
    assert cal.working_days_between(at(2026, 12, 23), at(2027, 1, 4)) == 6
    # Every working day of 2026 (New Year, the first day, is a holiday anyway).
    assert cal.working_days_between(at(2026, 1, 1), at(2026, 12, 31)) == 261 - 8


# --- on-site visits -----------------------------------------------------------------------------


def test_visit_times(cal: BusinessCalendar) -> None:
    assert cal.is_within_working_hours(at(2026, 4, 7, 10, 0))
    assert cal.is_within_working_hours(at(2026, 4, 7, 16, 0), timedelta(hours=1))  # ends at closing time
    assert not cal.is_within_working_hours(at(2026, 4, 7, 16, 30), timedelta(hours=1))
    assert not cal.is_within_working_hours(at(2026, 4, 7, 17, 0))
    assert not cal.is_within_working_hours(at(2026, 4, 6, 10, 0))  # Easter Monday
    assert not cal.is_within_working_hours(at(2026, 4, 4, 10, 0))  # Saturday
    with pytest.raises(ValueError, match="negative"):
        cal.is_within_working_hours(at(2026, 4, 7, 10, 0), -timedelta(minutes=1))


# --- custom hours and closing days --------------------------------------------------------------


@pytest.fixture(scope="module")
def late_thursday() -> BusinessCalendar:
    return BusinessCalendar(CalendarConfig(hours={"thu": "08:30-19:00"}))


def test_late_thursday(late_thursday: BusinessCalendar) -> None:
    assert late_thursday.is_working_time(at(2026, 6, 11, 18, 30))  # Thursday
    assert not late_thursday.is_working_time(at(2026, 6, 12, 18, 30))  # Friday keeps the default
    assert not late_thursday.is_working_time(at(2026, 6, 11, 19, 0))
    assert same(late_thursday.add_working_time(at(2026, 6, 11, 18, 0), timedelta(hours=1.5)), at(2026, 6, 12, 9, 0))
    week = late_thursday.working_time_between(at(2026, 6, 8), at(2026, 6, 13))
    assert week == timedelta(hours=42.5 + 2)


def test_lunch_break() -> None:
    lunch = BusinessCalendar(
        CalendarConfig(hours={"mon": "08:30-12:00, 13:00-17:00", "tue": ["13:00-17:00", "08:30-12:00"]})
    )
    assert not lunch.is_working_time(at(2026, 6, 8, 12, 30))
    assert same(lunch.add_working_time(at(2026, 6, 8, 11, 30), timedelta(hours=1)), at(2026, 6, 8, 13, 30))
    assert same(lunch.add_working_time(at(2026, 6, 8, 13, 30), -timedelta(hours=1)), at(2026, 6, 8, 11, 30))
    assert lunch.working_time_between(at(2026, 6, 8), at(2026, 6, 10)) == timedelta(hours=15)
    assert not lunch.is_within_working_hours(at(2026, 6, 8, 11, 30), timedelta(hours=1))
    assert same(lunch.next_working_moment(at(2026, 6, 9, 12, 15)), at(2026, 6, 9, 13, 0))


def test_touching_ranges_are_one_interval() -> None:
    split = BusinessCalendar(CalendarConfig(hours={"mon": ["08:30-12:00", "12:00-17:00"]}))
    assert split.is_within_working_hours(at(2026, 6, 8, 11, 30), timedelta(hours=1))
    assert len(split.working_intervals(date(2026, 6, 8))) == 1


def test_closed_weekday_and_open_saturday() -> None:
    custom = BusinessCalendar(CalendarConfig(hours={"wed": "closed", "sat": "09:00-12:00", "fri": None}))
    assert not custom.is_working_day(date(2026, 6, 10))
    assert not custom.is_working_day(date(2026, 6, 12))
    assert custom.is_working_day(date(2026, 6, 13))
    assert same(custom.add_working_time(at(2026, 6, 11, 16, 30), timedelta(hours=1)), at(2026, 6, 13, 9, 30))


def test_extra_and_recurring_closing_days() -> None:
    closed = BusinessCalendar(
        CalendarConfig(extra_closed_days=(date(2026, 12, 24),), recurring_closed_days=("09-27", "11-15"))
    )
    assert not closed.is_working_day(date(2026, 12, 24))
    assert closed.is_working_day(date(2027, 12, 24))  # one-off only
    assert not closed.is_working_day(date(2027, 9, 27))  # French Community day, a Monday in 2027
    assert not closed.is_working_day(date(2027, 11, 15))
    assert closed.holiday_name(date(2027, 9, 27)) is None
    # Wednesday 23 December 16:30 + 1 h: Thursday closed, Christmas Friday, weekend → Monday 28.
    assert same(closed.add_working_time(at(2026, 12, 23, 16, 30), timedelta(hours=1)), at(2026, 12, 28, 9, 0))


def test_clamp_to_working_day() -> None:
    lunch = BusinessCalendar(CalendarConfig(hours={"fri": "08:30-12:00, 13:00-17:00"}))
    assert same(lunch.clamp_to_working_day(at(2026, 6, 12, 7, 0)), at(2026, 6, 12, 8, 30))
    assert same(lunch.clamp_to_working_day(at(2026, 6, 12, 12, 30)), at(2026, 6, 12, 12, 0))
    assert same(lunch.clamp_to_working_day(at(2026, 6, 12, 18, 0)), at(2026, 6, 12, 17, 0))
    assert same(lunch.clamp_to_working_day(at(2026, 6, 12, 10, 0)), at(2026, 6, 12, 10, 0))
    assert same(lunch.clamp_to_working_day(at(2026, 6, 13, 10, 0)), at(2026, 6, 13, 10, 0))  # Saturday


def test_a_calendar_without_working_time_is_reported() -> None:
    config = CalendarConfig(
        country=None, hours={day: None for day in ("mon", "tue", "wed", "thu")} | {"fri": "08:30-17:00"}
    )
    fridays = tuple(date(2026, 1, 2) + timedelta(weeks=w) for w in range(600))
    never = BusinessCalendar(config.model_copy(update={"extra_closed_days": fridays}))
    with pytest.raises(ConfigError, match="no working time"):
        never.add_working_time(at(2026, 1, 1), timedelta(hours=1))


# --- configuration ------------------------------------------------------------------------------


def test_default_config() -> None:
    config = CalendarConfig()
    assert config.timezone == "Europe/Brussels"
    assert config.country == "BE"
    assert CalendarConfig(country=" be ").country == "BE"
    assert config.hours["mon"] == ("08:30-17:00",)
    assert config.hours["sat"] == ()


def test_listed_days_override_only_themselves() -> None:
    config = CalendarConfig(hours={"thu": "8:30 - 19:00"})
    assert config.hours["thu"] == ("08:30-19:00",)
    assert config.hours["wed"] == ("08:30-17:00",)
    assert config.hours["sun"] == ()


def test_config_from_toml_like_data() -> None:
    config = CalendarConfig.model_validate(
        {
            "timezone": "Europe/Brussels",
            "country": "be",
            "subdivision": "French",
            "hours": {"thu": "08:30-19:00", "sat": ""},
            "extra_closed_days": ["2026-12-24", date(2026, 12, 31)],
            "recurring_closed_days": ["09-27"],
        }
    )
    assert config.extra_closed_days == (date(2026, 12, 24), date(2026, 12, 31))
    assert BusinessCalendar(config).is_working_time(at(2026, 6, 11, 18, 0))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hours": {"thu": "8h-17h"}}, "thu: '8h-17h' is not a time range: write it like '08:30-17:00'"),
        ({"hours": {"mon": "17:00-08:30"}}, "mon: '17:00-08:30' ends before it starts"),
        ({"hours": {"mon": "09:00-09:00"}}, "ends before it starts"),
        ({"hours": {"tue": "08:30-25:00"}}, "tue: '08:30-25:00' contains an impossible time"),
        ({"hours": {"tue": "08:61-12:00"}}, "impossible time"),
        (
            {"hours": {"wed": "08:00-12:00, 11:00-13:00"}},
            "wed: the ranges 08:00-12:00 and 11:00-13:00 overlap",
        ),
        ({"hours": {"thursday": "08:30-19:00"}}, "unknown weekday thursday"),
        ({"hours": {d: "closed" for d in ("mon", "tue", "wed", "thu", "fri")}}, "every weekday is closed"),
        ({"timezone": "Europe/Bruxelles"}, "unknown time zone 'Europe/Bruxelles'"),
        ({"country": "XX"}, "no public holidays are known for country 'XX'"),
        ({"subdivision": "Wallonia"}, "country 'BE' has no subdivision 'Wallonia'; choose one of: Flemish"),
        ({"country": "", "subdivision": "French"}, "a subdivision needs a country"),
        ({"holiday_categories": ["fun"]}, "holiday_categories: Category is not supported: fun"),
        ({"recurring_closed_days": ["13-01"]}, "'13-01' is not a day of the year"),
        ({"recurring_closed_days": ["26/12"]}, "'26/12' is not a day of the year"),
        ({"extra_closed_days": ["24 décembre"]}, "extra_closed_days"),
        ({"holidays": "BE"}, "Extra inputs are not permitted"),
    ],
)
def test_config_errors_are_readable(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CalendarConfig.model_validate(data)
    assert message in str(caught.value)


def test_parse_day_hours() -> None:
    assert parse_day_hours(None) == ()
    assert parse_day_hours("Closed") == ()
    assert parse_day_hours([]) == ()
    assert parse_day_hours("13:00-17:00,08:30-12:00") == ((510, 720), (780, 1020))
    assert parse_day_hours("00:00-24:00") == ((0, 1440),)


def test_merge_intervals() -> None:
    a, b, c, d = at(2026, 6, 8, 9), at(2026, 6, 8, 10), at(2026, 6, 8, 11), at(2026, 6, 8, 12)
    assert merge_intervals([(c, d), (a, b), (b, c), (d, a)]) == [(a, d)]
    assert merge_intervals([(a, b), (c, d)]) == [(a, b), (c, d)]


def test_config_round_trips_through_a_dump() -> None:
    config = CalendarConfig(
        hours={"thu": "08:30-19:00", "fri": "08:30-12:00, 13:00-16:00"},
        extra_closed_days=(date(2026, 12, 24),),
        recurring_closed_days=("09-27",),
    )
    assert CalendarConfig.model_validate(config.model_dump()) == config
    assert config.hours["fri"] == ("08:30-12:00", "13:00-16:00")
