"""Behaviour of credited minutes, the per-day cap, location flags and hour display."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volunteer.hours import (
    CHINA,
    Fix,
    Served,
    cap_per_day,
    credit_by_day,
    credited_minutes,
    distance_m,
    format_hours,
    location_flags,
    outside_geofence,
)

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
# 20:00 in China: generated records regularly cross a China midnight.
BASE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PEOPLES_SQUARE = (31.2304, 121.4737)
TIANANMEN = (39.9087, 116.3975)


def at(hhmm: str, day: int = 20) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(2026, 11, day, int(hours), int(minutes), tzinfo=UTC)


def own_minutes(s: Served) -> int:
    return credited_minutes(s.start, s.end, s.start, s.end)


instants = st.integers(0, 3 * 86_400 * 10**6).map(lambda us: BASE + timedelta(microseconds=us))


@st.composite
def served_lists(draw: st.DrawFn, unit: timedelta, max_length: timedelta, span: timedelta) -> list[Served]:
    count = draw(st.integers(1, 8))
    records = []
    for i in range(count):
        start = BASE + draw(st.integers(0, span // unit)) * unit
        length = draw(st.integers(0, max_length // unit)) * unit
        records.append(Served(f"r{i}", start, start + length))
    return records


@st.composite
def disjoint_served(draw: st.DrawFn) -> list[Served]:
    count = draw(st.integers(1, 8))
    t = BASE + draw(st.integers(0, 86_400)) * SECOND
    records = []
    for i in range(count):
        t += draw(st.integers(0, 6 * 3600)) * SECOND  # a gap of 0: records that touch do not overlap
        length = draw(st.integers(0, 86_399)) * SECOND
        records.append(Served(f"r{i}", t, t + length))
        t += length
    return draw(st.permutations(records))


any_served = served_lists(SECOND, timedelta(hours=30), timedelta(days=3))
caps = st.integers(60, 1440)


def reference_credit(served: Sequence[Served], cap: int) -> dict[tuple[Hashable, date], int]:
    """Minute by minute: each minute to the earliest-starting record covering it, then the day's cap."""
    owner: dict[datetime, int] = {}
    for i, s in enumerate(served):
        t = s.start
        while t + MINUTE <= s.end:
            if t not in owner or served[owner[t]].start > s.start:
                owner[t] = i
            t += MINUTE
    used: Counter[date] = Counter()
    credit: Counter[tuple[Hashable, date]] = Counter()
    for t in sorted(owner):
        day = t.astimezone(CHINA).date()
        if used[day] < cap:
            used[day] += 1
            credit[served[owner[t]].key, day] += 1
    return dict(credit)


def union_minutes(served: Sequence[Served]) -> int:
    total = timedelta()
    end = None
    for s in sorted((s for s in served if s.end > s.start), key=lambda s: s.start):
        if end is None or s.start > end:
            total += s.end - s.start
            end = s.end
        elif s.end > end:
            total += s.end - end
            end = s.end
    return total // MINUTE


# credited_minutes


@settings(max_examples=200, deadline=None)
@given(instants, instants, instants, instants)
def test_credit_is_never_negative_nor_more_than_the_session_or_the_scans(
    check_in: datetime, check_out: datetime, start: datetime, end: datetime
) -> None:
    credited = credited_minutes(check_in, check_out, start, end)
    assert credited >= 0
    assert credited <= max((end - start) // MINUTE, 0)
    assert credited * MINUTE <= max(check_out - check_in, timedelta())


@given(st.lists(st.integers(0, 3 * 1440), min_size=4, max_size=4))
def test_credit_is_the_plain_overlap_for_minute_aligned_times(minutes: list[int]) -> None:
    check_in, check_out, start, end = (BASE + m * MINUTE for m in minutes)
    expected = max(min(minutes[1], minutes[3]) - max(minutes[0], minutes[2]), 0)
    assert credited_minutes(check_in, check_out, start, end) == expected


@given(instants, st.integers(0, 86_400 * 10**6), st.integers(1, 10**9), st.integers(0, 10**9))
def test_scans_around_the_whole_session_credit_its_floored_length(
    start: datetime, length_us: int, early_us: int, late_us: int
) -> None:
    end = start + timedelta(microseconds=length_us)
    check_in = start - timedelta(microseconds=early_us)
    check_out = end + timedelta(microseconds=late_us)
    assert credited_minutes(check_in, check_out, start, end) == length_us // 60_000_000


def test_a_minute_not_fully_served_is_not_credited() -> None:
    assert credited_minutes(at("10:00"), at("10:00") + 59 * SECOND, at("09:00"), at("12:00")) == 0
    assert credited_minutes(at("10:00") + 30 * SECOND, at("10:02"), at("09:00"), at("12:00")) == 1


def test_check_out_before_check_in_or_outside_the_session_credits_nothing() -> None:
    assert credited_minutes(at("11:00"), at("10:00"), at("09:00"), at("12:00")) == 0
    assert credited_minutes(at("13:00"), at("14:00"), at("09:00"), at("12:00")) == 0


# cap_per_day


@settings(max_examples=200, deadline=None)
@given(any_served, caps)
def test_no_record_gets_more_than_its_own_credited_minutes(served: list[Served], cap: int) -> None:
    result = cap_per_day(served, cap)
    assert result.keys() == {s.key for s in served}
    for s in served:
        assert 0 <= result[s.key] <= own_minutes(s)


@settings(max_examples=200, deadline=None)
@given(any_served, caps)
def test_no_china_day_is_credited_more_than_the_cap(served: list[Served], cap: int) -> None:
    per_day: Counter[date] = Counter()
    for (_key, day), minutes in credit_by_day(served, cap).items():
        per_day[day] += minutes
    assert all(minutes <= cap for minutes in per_day.values())


@settings(max_examples=200, deadline=None)
@given(any_served, caps)
def test_daily_split_adds_up_to_the_per_record_credit(served: list[Served], cap: int) -> None:
    totals: Counter[Hashable] = Counter()
    for (key, _day), minutes in credit_by_day(served, cap).items():
        totals[key] += minutes
    assert {k: v for k, v in cap_per_day(served, cap).items() if v} == dict(totals)


@settings(max_examples=200, deadline=None)
@given(served_lists(MINUTE, timedelta(hours=10), timedelta(hours=36)), caps)
def test_cap_matches_a_minute_by_minute_reference(served: list[Served], cap: int) -> None:
    expected = reference_credit(served, cap)
    assert credit_by_day(served, cap) == expected
    per_day: Counter[date] = Counter()
    for (_key, day), minutes in expected.items():
        per_day[day] += minutes
    assert all(minutes <= cap for minutes in per_day.values())


@settings(max_examples=200, deadline=None)
@given(disjoint_served())
def test_records_that_do_not_overlap_keep_their_own_minutes_under_the_full_day_cap(
    served: list[Served],
) -> None:
    assert cap_per_day(served, 1440) == {s.key: own_minutes(s) for s in served}


@settings(max_examples=200, deadline=None)
@given(any_served, st.integers(60, 10_000))
def test_total_credit_never_exceeds_the_minutes_in_the_union(served: list[Served], cap: int) -> None:
    assert sum(cap_per_day(served, cap).values()) <= union_minutes(served)


def test_shared_time_counts_once_for_the_earlier_starting_record() -> None:
    served = [Served("late", at("11:00"), at("13:00")), Served("early", at("10:00"), at("12:00"))]
    assert cap_per_day(served) == {"late": 60, "early": 120}


def test_records_starting_together_credit_the_one_given_first() -> None:
    served = [Served("b", at("10:00"), at("11:00")), Served("a", at("10:00"), at("11:30"))]
    assert cap_per_day(served) == {"b": 60, "a": 30}


def test_a_record_inside_another_gets_nothing() -> None:
    served = [Served("outer", at("09:00"), at("12:00")), Served("inner", at("10:00"), at("11:00"))]
    assert cap_per_day(served) == {"outer": 180, "inner": 0}


def test_record_crossing_china_midnight_is_capped_on_each_day() -> None:
    # 15:00-17:00 UTC is 23:00-01:00 in China.
    served = [Served("night", at("15:00"), at("17:00"))]
    assert cap_per_day(served, 30) == {"night": 60}
    assert credit_by_day(served, 30) == {("night", date(2026, 11, 20)): 30, ("night", date(2026, 11, 21)): 30}


def test_once_the_day_is_full_later_records_get_nothing() -> None:
    # 01:00-10:00 and 11:00-13:00 UTC are the same China day (09:00-18:00, 19:00-21:00).
    served = [Served("evening", at("11:00"), at("13:00")), Served("day", at("01:00"), at("10:00"))]
    assert cap_per_day(served, 480) == {"evening": 0, "day": 480}


def test_long_record_is_capped_day_by_day() -> None:
    days = 3653
    start = datetime(2026, 1, 1, tzinfo=CHINA)
    assert cap_per_day([Served("decade", start, start + timedelta(days=days))], 480) == {"decade": days * 480}


def test_overlapping_records_with_odd_seconds_gain_no_extra_minute() -> None:
    # Each lasts 1:00 but they chain over 2:58 in all: two whole minutes, not three.
    t = at("10:00")
    served = [
        Served("a", t + 59 * SECOND, t + 119 * SECOND),
        Served("b", t + 118 * SECOND, t + 178 * SECOND),
        Served("c", t + 177 * SECOND, t + 237 * SECOND),
    ]
    assert sum(cap_per_day(served).values()) == 2


def test_empty_or_reversed_record_gets_nothing() -> None:
    served = [Served("empty", at("10:00"), at("10:00")), Served("reversed", at("11:00"), at("10:00"))]
    assert cap_per_day(served) == {"empty": 0, "reversed": 0}
    assert cap_per_day([]) == {}


# location


def test_shanghai_to_beijing_is_about_1067_km() -> None:
    assert distance_m(*PEOPLES_SQUARE, *TIANANMEN) == pytest.approx(1_067_000, abs=5_000)


def north_of(lat: float, lng: float, metres: float) -> tuple[float, float]:
    return lat + math.degrees(metres / 6_371_008.8), lng


def test_geofence_keeps_nearby_scans_inside_and_far_ones_outside() -> None:
    assert not outside_geofence(*north_of(*PEOPLES_SQUARE, 150), *PEOPLES_SQUARE, 200)
    assert outside_geofence(*north_of(*PEOPLES_SQUARE, 250), *PEOPLES_SQUARE, 200)


def test_missing_coordinates_are_flagged() -> None:
    assert location_flags(None, Fix(at("10:00"), None, None)) == ["location_missing"]
    assert location_flags(None, Fix(at("10:00"), 31.2, None)) == ["location_missing"]


@pytest.mark.parametrize(("lat", "lng"), [(90.5, 121.0), (-91.0, 0.0), (31.0, 180.5), (math.nan, 121.0)])
def test_out_of_range_coordinates_count_as_missing(lat: float, lng: float) -> None:
    assert location_flags(None, Fix(at("10:00"), lat, lng)) == ["location_missing"]


def test_zero_zero_is_a_real_place() -> None:
    assert location_flags(None, Fix(at("10:00"), 0.0, 0.0)) == []


def test_exactly_repeated_coordinates_are_flagged() -> None:
    first = Fix(at("10:00"), *PEOPLES_SQUARE)
    assert location_flags(first, Fix(at("12:00"), *PEOPLES_SQUARE)) == ["repeated_coordinates"]


def test_shanghai_to_beijing_in_ten_minutes_is_impossible_travel() -> None:
    first = Fix(at("10:00"), *PEOPLES_SQUARE)
    assert location_flags(first, Fix(at("10:10"), *TIANANMEN)) == ["impossible_travel"]


def test_a_500_m_walk_in_ten_minutes_is_fine() -> None:
    first = Fix(at("10:00"), *PEOPLES_SQUARE)
    assert location_flags(first, Fix(at("10:10"), *north_of(*PEOPLES_SQUARE, 500))) == []


def test_same_instant_moves_beyond_gps_noise_are_impossible() -> None:
    first = Fix(at("10:00"), *PEOPLES_SQUARE)
    assert location_flags(first, Fix(at("10:00"), *north_of(*PEOPLES_SQUARE, 150))) == ["impossible_travel"]
    assert location_flags(first, Fix(at("10:00"), *north_of(*PEOPLES_SQUARE, 50))) == []


def test_travel_is_judged_only_against_a_usable_previous_fix() -> None:
    assert location_flags(None, Fix(at("10:10"), *TIANANMEN)) == []
    assert location_flags(Fix(at("10:00"), None, None), Fix(at("10:10"), *TIANANMEN)) == []


def test_speed_limit_is_configurable() -> None:
    first = Fix(at("10:00"), *PEOPLES_SQUARE)
    ten_km_later = Fix(at("10:10"), *north_of(*PEOPLES_SQUARE, 10_000))  # 60 km/h
    assert location_flags(first, ten_km_later) == []
    assert location_flags(first, ten_km_later, max_speed_kmh=50) == ["impossible_travel"]


# display


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(90, "1.5"), (0, "0.0"), (5, "0.1"), (2, "0.0"), (3, "0.1"), (60, "1.0"), (1439, "24.0"), (-90, "-1.5")],
)
def test_minutes_are_shown_as_hours_rounded_half_up(minutes: int, shown: str) -> None:
    assert format_hours(minutes) == shown
