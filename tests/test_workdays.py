"""Rule 17 working days: the official calendar with 调休, overrides from a file, and the fallback."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from volunteer.hours import CHINA
from volunteer.workdays import WorkCalendar, load_calendar, workdays_path

CALENDAR = load_calendar(None)


def write_overrides(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "workdays.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def walk_working_days(start: date, n: int) -> date:
    """add_working_days the slow way, day by day, with the package's own is_workday."""
    day, counted = start, 0
    while not chinese_calendar.is_workday(day) or counted < n:
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    return day


def test_spring_festival_2024_make_up_sundays_are_workdays() -> None:
    assert CALENDAR.is_workday(date(2024, 2, 4))  # Sunday
    assert CALENDAR.is_workday(date(2024, 2, 18))  # Sunday
    assert not CALENDAR.is_workday(date(2024, 2, 12))  # Monday of the Spring Festival break


def test_national_day_2024_holidays_and_make_up_days() -> None:
    assert not any(CALENDAR.is_workday(date(2024, 10, day)) for day in range(1, 8))
    assert CALENDAR.is_workday(date(2024, 9, 29))  # Sunday
    assert CALENDAR.is_workday(date(2024, 10, 12))  # Saturday


def test_national_day_2025_holidays_and_make_up_days() -> None:
    assert not any(CALENDAR.is_workday(date(2025, 10, day)) for day in range(1, 9))
    assert CALENDAR.is_workday(date(2025, 9, 28))  # Sunday
    assert CALENDAR.is_workday(date(2025, 10, 11))  # Saturday


def test_ten_working_days_after_friday_before_national_day_2024() -> None:
    # After Fri 2024-09-27: Sat 28 off; Sun 29 worked (1); Mon 30 (2); Oct 1-7 off;
    # Tue 8 (3), 9 (4), 10 (5), Fri 11 (6); Sat 12 worked (7); Sun 13 off; Mon 14 (8), 15 (9), Wed 16 (10).
    # Counting Monday–Friday only would have said Fri 2024-10-11.
    assert CALENDAR.add_working_days(date(2024, 9, 27), 10) == date(2024, 10, 16)
    assert CALENDAR.working_days_between(date(2024, 9, 27), date(2024, 10, 16)) == 10


def test_deadline_is_end_of_the_tenth_working_day_in_china_time() -> None:
    ended = datetime(2024, 9, 27, 10, 0, tzinfo=UTC)  # 18:00 in Beijing
    assert CALENDAR.deadline(ended) == datetime(2024, 10, 16, 15, 59, 59, 999999, tzinfo=UTC)
    assert CALENDAR.deadline(ended).astimezone(CHINA).date() == date(2024, 10, 16)


def test_deadline_counts_from_the_china_local_date() -> None:
    # 17:00 UTC on Sat 28 is 01:00 on Sun 29 in Beijing, a make-up workday: counting starts after the 29th.
    ended = datetime(2024, 9, 28, 17, 0, tzinfo=UTC)
    assert CALENDAR.deadline(ended) == datetime(2024, 10, 17, 15, 59, 59, 999999, tzinfo=UTC)


def test_deadline_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone"):
        CALENDAR.deadline(datetime(2024, 9, 27, 18, 0))


def test_zero_working_days_is_start_if_working_else_the_next_working_day() -> None:
    assert CALENDAR.add_working_days(date(2024, 9, 29), 0) == date(2024, 9, 29)  # make-up Sunday
    assert CALENDAR.add_working_days(date(2024, 10, 1), 0) == date(2024, 10, 8)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(date(2024, 9, 27), -1)


def test_working_days_between_is_negative_when_reversed() -> None:
    assert CALENDAR.working_days_between(date(2024, 10, 16), date(2024, 9, 27)) == -10
    assert CALENDAR.working_days_between(date(2024, 9, 27), date(2024, 9, 27)) == 0


def test_adding_working_days_crosses_into_the_next_year() -> None:
    # 2024-12-31 is a Tuesday; 2025-01-01 is New Year's Day; Jan 2 and 3 are Thu and Fri.
    assert CALENDAR.add_working_days(date(2024, 12, 31), 2) == date(2025, 1, 3)


def test_override_file_decides_a_year_the_package_does_not_know(tmp_path: Path) -> None:
    before = load_calendar(None)
    assert before.is_workday(date(2031, 1, 1))  # a Wednesday, by the weekday fallback
    assert not before.is_workday(date(2031, 1, 4))  # a Saturday

    path = write_overrides(tmp_path, {"2031": {"holidays": ["2031-01-01"], "workdays": ["2031-01-04"]}})
    calendar = load_calendar(path)
    assert not calendar.is_workday(date(2031, 1, 1))
    assert calendar.is_workday(date(2031, 1, 4))
    assert calendar.knows_year(2031)
    # Tue 2030-12-31 + 3: Thu Jan 2 (1), Fri 3 (2), Sat 4 worked (3).
    assert calendar.add_working_days(date(2030, 12, 31), 3) == date(2031, 1, 4)
    assert 2031 not in calendar.unknown_years


def test_override_file_replaces_the_package_for_a_year_it_lists(tmp_path: Path) -> None:
    path = write_overrides(tmp_path, {"2024": {"holidays": [], "workdays": []}})
    calendar = load_calendar(path)
    assert not calendar.is_workday(date(2024, 9, 29))  # Sunday, no longer a make-up day
    assert calendar.is_workday(date(2024, 10, 1))  # Tuesday, no longer a holiday
    assert CALENDAR.is_workday(date(2024, 9, 29))  # other calendars are untouched


def test_unknown_year_falls_back_to_weekdays_and_is_reported() -> None:
    calendar = load_calendar(None)
    assert not calendar.knows_year(2035)
    assert calendar.unknown_years == frozenset()
    ended = datetime(2035, 1, 5, 10, 0, tzinfo=UTC)  # a Friday
    # Ten weekdays after Fri 2035-01-05 is Fri 2035-01-19.
    assert calendar.deadline(ended).astimezone(CHINA).date() == date(2035, 1, 19)
    assert calendar.unknown_years == frozenset({2035})


def test_missing_override_file_means_the_package_alone(tmp_path: Path) -> None:
    calendar = load_calendar(tmp_path / "absent.json")
    assert calendar.is_workday(date(2024, 2, 4))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ([], "expected an object"),
        ({"27": {}}, "four-digit year"),
        ({"2031": ["2031-01-01"]}, "year 2031: expected"),
        ({"2031": {"holiday": ["2031-01-01"]}}, "unexpected keys"),
        ({"2031": {"holidays": "2031-01-01"}}, "must be a list"),
        ({"2031": {"holidays": ["2031-02-30"]}}, r"holidays\[0\] = '2031-02-30' is not a YYYY-MM-DD date"),
        ({"2031": {"workdays": [20310104]}}, r"workdays\[0\] = 20310104 is not a YYYY-MM-DD date"),
        (
            {"2031": {"holidays": ["2031-01-01", "2032-01-01"]}},
            r"holidays\[1\] = '2032-01-01' is not in 2031",
        ),
        (
            {"2031": {"holidays": ["2031-01-04"], "workdays": ["2031-01-04"]}},
            "both as holiday and as workday",
        ),
    ],
)
def test_malformed_override_file_names_the_file_and_entry(tmp_path: Path, content: Any, message: str) -> None:
    path = write_overrides(tmp_path, content)
    with pytest.raises(ValueError, match=message) as raised:
        load_calendar(path)
    assert str(path) in str(raised.value)


def test_override_path_comes_from_the_environment_or_the_data_dir() -> None:
    assert workdays_path("var", {}) == Path("var/workdays.json")
    assert workdays_path("var", {"WORKDAYS_FILE": "/etc/workdays.json"}) == Path("/etc/workdays.json")


def test_a_calendar_without_overrides_matches_the_package_for_2024() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    assert sum(CALENDAR.is_workday(d) for d in days) == 251  # per chinese_calendar 1.11 for 2024
    assert WorkCalendar().working_days_between(date(2023, 12, 31), date(2024, 12, 31)) == 251


@given(d=st.dates(date(2020, 1, 1), date(2025, 12, 31)), n=st.integers(0, 30))
def test_adding_then_counting_working_days_round_trips(d: date, n: int) -> None:
    result = CALENDAR.add_working_days(d, n)
    assert CALENDAR.is_workday(result)
    if n >= 1:
        assert result > d
        assert CALENDAR.working_days_between(d, result) == n
    else:
        # n = 0 lands on d itself, or on the next working day when d is not one.
        assert result >= d
        assert CALENDAR.working_days_between(d, result) == (0 if CALENDAR.is_workday(d) else 1)
    assert result == walk_working_days(d, n)
