"""Priority matrix and service-level deadlines in Belgian working time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.sla import BusinessCalendar, CalendarConfig
from bot.sla.priority import (
    DEFAULT_MATRIX,
    DueTimes,
    Impact,
    Priority,
    PriorityConfig,
    Urgency,
    WorkingDuration,
    due_times,
    elapsed_fraction,
    paused_working_time,
    priority_for,
    resolution_due,
)

BXL = ZoneInfo("Europe/Brussels")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BXL)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


# --- matrix -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        ("site", "high", "P1"),
        ("site", "medium", "P2"),
        ("site", "low", "P3"),
        ("team", "high", "P2"),
        ("team", "medium", "P3"),
        ("team", "low", "P4"),
        ("me", "high", "P3"),
        ("me", "medium", "P4"),
        ("me", "low", "P4"),
    ],
)
def test_default_matrix(impact: Impact, urgency: Urgency, expected: Priority) -> None:
    assert priority_for(impact, urgency) == expected


def test_matrix_overrides_merge_with_defaults() -> None:
    config = PriorityConfig.model_validate({"matrix": {"me": {"high": "P2"}}})
    assert priority_for("me", "high", config) == "P2"
    assert priority_for("me", "low", config) == "P4"
    assert priority_for("site", "high", config) == "P1"
    assert DEFAULT_MATRIX["me"]["high"] == "P3"  # the defaults are not modified


def test_unknown_matrix_keys_are_refused_at_call_time() -> None:
    with pytest.raises(ValueError, match="unknown impact 'everyone'"):
        priority_for("everyone", "high")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown urgency 'now'"):
        priority_for("me", "now")  # type: ignore[arg-type]


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", WorkingDuration(time=timedelta(hours=1))),
        ("1h30m", WorkingDuration(time=timedelta(minutes=90))),
        ("90m", WorkingDuration(time=timedelta(minutes=90))),
        ("45min", WorkingDuration(time=timedelta(minutes=45))),
        ("3d", WorkingDuration(days=3)),
        ("1d 4h", WorkingDuration(days=1, time=timedelta(hours=4))),
        (1.5, WorkingDuration(time=timedelta(minutes=90))),
        (8, WorkingDuration(time=timedelta(hours=8))),
    ],
)
def test_duration_parsing(text: object, expected: WorkingDuration) -> None:
    parsed = WorkingDuration.parse(text)
    assert parsed == expected
    assert WorkingDuration.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["soon", "0h", "", "4 hours", "-1h", 0, -2, True, None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        WorkingDuration.parse(text)


# --- config -------------------------------------------------------------------------------------


def test_default_targets() -> None:
    config = PriorityConfig()
    assert str(config.target("P1").response) == "1h"
    assert str(config.target("P1").resolution) == "4h"
    assert str(config.target("P2").resolution) == "8h"
    assert config.target("P3").resolution == WorkingDuration(days=3)
    assert config.target("P4").resolution == WorkingDuration(days=5)
    assert config.pause_when_waiting


def test_target_overrides_merge_field_by_field() -> None:
    config = PriorityConfig.model_validate({"targets": {"P1": {"response": "30m"}, "P4": {"resolution": "10d"}}})
    assert config.target("P1").response == WorkingDuration(time=timedelta(minutes=30))
    assert config.target("P1").resolution == WorkingDuration(time=timedelta(hours=4))
    assert config.target("P4").resolution == WorkingDuration(days=10)
    assert config.model_dump()["targets"]["P1"] == {"response": "30m", "resolution": "4h"}


def test_config_round_trips_through_a_dump() -> None:
    config = PriorityConfig.model_validate({"targets": {"P2": {"resolution": "1d 2h"}}, "pause_when_waiting": False})
    assert PriorityConfig.model_validate(config.model_dump()) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"matrix": {"me": {"high": "P9"}}}, "me.high: unknown priority 'P9'"),
        ({"matrix": {"company": {"high": "P1"}}}, "unknown impact 'company': use me, team, site"),
        ({"matrix": {"team": {"urgent": "P1"}}}, "team: unknown urgency 'urgent': use low, medium, high"),
        ({"matrix": {"team": "P1"}}, "team: expected {urgency = priority}"),
        ({"targets": {"P5": {"response": "1h"}}}, "unknown priority 'P5'"),
        ({"targets": {"P1": {"response": "soon"}}}, "'soon' is not a duration"),
        ({"targets": {"P1": {"response": "1h", "resolve": "4h"}}}, "Extra inputs are not permitted"),
        ({"targets": {"P1": "1h"}}, "P1: expected {response = ..., resolution = ...}"),
        ({"escalate": True}, "Extra inputs are not permitted"),
    ],
)
def test_config_errors_are_readable(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PriorityConfig.model_validate(data)
    assert message in str(caught.value)


# --- due times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "priority", "response", "resolution"),
    [
        # Friday 16:30 before the spring-forward weekend.
        (at(2026, 3, 27, 16, 30), "P1", at(2026, 3, 30, 9, 0), at(2026, 3, 30, 12, 0)),
        (at(2026, 3, 27, 16, 30), "P2", at(2026, 3, 30, 10, 0), at(2026, 3, 30, 16, 0)),
        # Wednesday before Ascension: 3 working days are Friday, Monday, Tuesday.
        (at(2026, 5, 13, 10, 0), "P3", at(2026, 5, 13, 14, 0), at(2026, 5, 19, 10, 0)),
        # Friday before the National Day: 6 h on Friday + 2 h on Monday; 5 working days skip 21 July.
        (at(2026, 7, 17, 11, 0), "P4", at(2026, 7, 20, 10, 30), at(2026, 7, 27, 11, 0)),
        # Opened on Saturday: the clock starts on Monday at opening time.
        (at(2026, 6, 6, 14, 0), "P1", at(2026, 6, 8, 9, 30), at(2026, 6, 8, 12, 30)),
        # Opened on Easter Monday evening, P3: 3 working days from Tuesday 08:30.
        (at(2026, 4, 6, 19, 0), "P3", at(2026, 4, 7, 12, 30), at(2026, 4, 10, 8, 30)),
    ],
)
def test_due_times(
    cal: BusinessCalendar, opened: datetime, priority: Priority, response: datetime, resolution: datetime
) -> None:
    due = due_times(cal, opened, priority)
    assert due == DueTimes(response, resolution)
    assert due.response.tzinfo == BXL
    assert due.resolution.tzinfo == BXL


def test_due_times_with_a_late_thursday() -> None:
    late = BusinessCalendar(CalendarConfig(hours={"thu": "08:30-19:00"}))
    # P1 at Thursday 18:30: 30 minutes on Thursday, 30 on Friday.
    assert due_times(late, at(2026, 6, 11, 18, 30), "P1").response == at(2026, 6, 12, 9, 0)
    # A whole-day target that lands after Tuesday's closing time is brought back to 17:00.
    assert due_times(late, at(2026, 6, 11, 18, 0), "P3").resolution == at(2026, 6, 16, 17, 0)


def test_due_times_use_the_configured_targets(cal: BusinessCalendar) -> None:
    config = PriorityConfig.model_validate({"targets": {"P1": {"response": "15m", "resolution": "1d 1h"}}})
    due = due_times(cal, at(2026, 6, 8, 16, 50), "P1", config)
    assert due.response == at(2026, 6, 9, 8, 35)
    assert due.resolution == at(2026, 6, 10, 9, 20)  # Tuesday 16:50 + 1 h: 10 min Tuesday, 50 Wednesday


# --- pauses while waiting on the requester ------------------------------------------------------


def test_pause_pushes_the_resolution_deadline(cal: BusinessCalendar) -> None:
    opened = at(2026, 6, 8, 8, 30)  # P2: resolution 8 h → Monday 16:30
    assert resolution_due(cal, opened, "P2") == at(2026, 6, 8, 16, 30)
    pauses = [(at(2026, 6, 8, 10, 0), at(2026, 6, 8, 11, 0))]
    assert resolution_due(cal, opened, "P2", pauses) == at(2026, 6, 9, 9, 0)


def test_overnight_pause_counts_only_working_time(cal: BusinessCalendar) -> None:
    opened = at(2026, 6, 8, 8, 30)
    pauses = [(at(2026, 6, 8, 16, 0), at(2026, 6, 9, 10, 0))]  # 1 h Monday + 1.5 h Tuesday
    assert paused_working_time(cal, opened, pauses) == timedelta(hours=2.5)
    assert resolution_due(cal, opened, "P2", pauses) == at(2026, 6, 9, 10, 30)


def test_overlapping_and_early_pauses_count_once(cal: BusinessCalendar) -> None:
    opened = at(2026, 6, 8, 10, 0)
    pauses = [
        (at(2026, 6, 8, 9, 0), at(2026, 6, 8, 10, 30)),  # began before the ticket: only 30 min count
        (at(2026, 6, 8, 11, 0), at(2026, 6, 8, 12, 0)),
        (at(2026, 6, 8, 11, 30), at(2026, 6, 8, 12, 30)),
    ]
    assert paused_working_time(cal, opened, pauses) == timedelta(hours=2)


def test_pauses_ignored_when_configured(cal: BusinessCalendar) -> None:
    config = PriorityConfig(pause_when_waiting=False)
    pauses = [(at(2026, 6, 8, 10, 0), at(2026, 6, 8, 11, 0))]
    assert resolution_due(cal, at(2026, 6, 8, 8, 30), "P2", pauses, config=config) == at(2026, 6, 8, 16, 30)


def test_a_pause_after_the_breach_does_not_undo_it(cal: BusinessCalendar) -> None:
    pauses = [(at(2026, 6, 9, 10, 0), at(2026, 6, 9, 12, 0))]
    assert resolution_due(cal, at(2026, 6, 8, 8, 30), "P2", pauses) == at(2026, 6, 8, 16, 30)


def test_a_running_pause_counts_until_now(cal: BusinessCalendar) -> None:
    opened = at(2026, 6, 8, 8, 30)
    running = [(at(2026, 6, 8, 15, 0), None)]
    # 2 h on Monday and 30 min on Tuesday push Monday 16:30 to Tuesday 10:30.
    assert resolution_due(cal, opened, "P2", running, now=at(2026, 6, 9, 9, 0)) == at(2026, 6, 9, 10, 30)
    with pytest.raises(ValueError, match="pass now="):
        resolution_due(cal, opened, "P2", running)


def test_elapsed_fraction(cal: BusinessCalendar) -> None:
    opened = at(2026, 6, 8, 9, 0)
    response, resolution = due_times(cal, opened, "P1")
    assert resolution == at(2026, 6, 8, 13, 0)
    assert elapsed_fraction(cal, opened, resolution, at(2026, 6, 8, 12, 0)) == 0.75
    assert elapsed_fraction(cal, opened, resolution, at(2026, 6, 8, 12, 0), paused=timedelta(hours=1)) == 0.5
    assert elapsed_fraction(cal, opened, resolution, at(2026, 6, 8, 15, 0)) == 1.5
    assert elapsed_fraction(cal, opened, response, opened) == 0.0
    assert elapsed_fraction(cal, opened, opened, opened) == 1.0


def test_elapsed_fraction_stops_outside_working_hours(cal: BusinessCalendar) -> None:
    opened = at(2026, 7, 20, 15, 0)  # Monday; P1 resolution: 2 h Monday + 2 h Wednesday (21 July closed)
    _, resolution = due_times(cal, opened, "P1")
    assert resolution == at(2026, 7, 22, 10, 30)
    assert elapsed_fraction(cal, opened, resolution, at(2026, 7, 21, 12, 0)) == 0.5
