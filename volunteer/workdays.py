"""Working days on the Chinese official calendar (调休 included), for the rule 17 deadline (办法 Art 11)."""

from __future__ import annotations

import json
import logging
import os
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]

from volunteer.hours import CHINA

log = logging.getLogger("volunteer.workdays")

# China has kept one offset and no DST since 1991, so a fixed offset needs no tz database.
FINAL_AFTER_WORKING_DAYS = 10  # rule 17


@dataclass(frozen=True, slots=True)
class YearOverride:
    """One year from the override file: weekdays off, and weekend days worked (调休)."""

    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_workday(self, d: date) -> bool:
        return d in self.workdays or (d.weekday() < 5 and d not in self.holidays)


@dataclass(frozen=True, slots=True)
class _Year:
    ordered: tuple[date, ...]  # the year's working days, sorted, for counting by bisection
    days: frozenset[date]


class WorkCalendar:
    """Answers from the override file for the years it lists, else the package, else Monday–Friday.

    Years answered Monday–Friday because nobody knows them are collected in `unknown_years`,
    so a job can warn operators to update the package or the override file instead of crashing.
    """

    __slots__ = ("_overrides", "_unknown", "_years", "source")

    def __init__(
        self, overrides: Mapping[int, YearOverride] | None = None, source: Path | None = None
    ) -> None:
        self._overrides = dict(overrides or {})
        self.source = source
        self._years: dict[int, _Year] = {}
        self._unknown: set[int] = set()

    @property
    def unknown_years(self) -> frozenset[int]:
        """Years consulted so far that fell back to Monday–Friday."""
        return frozenset(self._unknown)

    def knows_year(self, year: int) -> bool:
        """Whether `year` comes from the override file or the package, so a job can check ahead."""
        return year in self._overrides or _package_knows(year)

    def is_workday(self, d: date) -> bool:
        return d in self._year(d.year).days

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start`; n = 0 gives `start` itself if it is a working day,
        else the next working day."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        year = start.year
        ordered = self._year(year).ordered
        # Index, within `ordered`, of the answer: counting starts after `start` (or at it for n = 0).
        index = bisect_left(ordered, start) if n == 0 else bisect_right(ordered, start) + n - 1
        while index >= len(ordered):
            index -= len(ordered)
            year += 1
            ordered = self._year(year).ordered
        return ordered[index]

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b; negative (the same count) when b < a."""
        if b < a:
            return -self.working_days_between(b, a)
        total = 0
        for year in range(a.year, b.year + 1):
            ordered = self._year(year).ordered
            total += bisect_right(ordered, b) - bisect_right(ordered, a)
        return total

    def deadline(self, activity_end: datetime, n: int = FINAL_AFTER_WORKING_DAYS) -> datetime:
        """The last instant (China time, returned in UTC) of the n-th working day after the
        China-local date on which the activity ended."""
        if activity_end.tzinfo is None:
            raise ValueError("activity_end must carry a timezone")
        day = self.add_working_days(activity_end.astimezone(CHINA).date(), n)
        return datetime.combine(day, time.max, CHINA).astimezone(UTC)

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        override = self._overrides.get(year)
        is_workday: Callable[[date], bool]
        if override is not None:
            is_workday = override.is_workday
        elif _package_knows(year):
            is_workday = _package_is_workday
        else:
            log.warning("No holiday calendar for %s: counting Monday–Friday as working days", year)
            self._unknown.add(year)
            is_workday = _is_weekday
        first = date(year, 1, 1)
        days = (first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days))
        ordered = tuple(d for d in days if is_workday(d))
        self._years[year] = built = _Year(ordered, frozenset(ordered))
        return built


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _package_is_workday(d: date) -> bool:
    return bool(chinese_calendar.is_workday(d))


def _is_weekday(d: date) -> bool:
    return d.weekday() < 5


def workdays_path(data_dir: str | Path, env: Mapping[str, str] = os.environ) -> Path:
    """WORKDAYS_FILE, or workdays.json in the data directory."""
    return Path(env.get("WORKDAYS_FILE") or Path(data_dir) / "workdays.json")


def load_calendar(path: Path | None) -> WorkCalendar:
    """The calendar with the overrides in `path`; no path or a missing file means the package alone.

    File format: {"2027": {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}}.
    A year listed there is decided by the file alone: holidays are days off, workdays are
    weekend days worked (调休); every other weekday is a working day.
    """
    if path is None:
        return WorkCalendar()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return WorkCalendar(source=path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from e
    if not isinstance(raw, dict):
        raise ValueError(
            f'{path}: expected an object like {{"2027": {{"holidays": [...], "workdays": [...]}}}}'
        )
    overrides = {_parse_year(path, key): _parse_override(path, key, entry) for key, entry in raw.items()}
    return WorkCalendar(overrides, source=path)


def _parse_year(path: Path, key: str) -> int:
    if not (len(key) == 4 and key.isascii() and key.isdigit()):
        raise ValueError(f"{path}: key {key!r} is not a four-digit year")
    return int(key)


def _parse_override(path: Path, key: str, entry: Any) -> YearOverride:
    if not isinstance(entry, dict):
        raise ValueError(f'{path}: year {key}: expected {{"holidays": [...], "workdays": [...]}}')
    unexpected = set(entry) - {"holidays", "workdays"}
    if unexpected:
        raise ValueError(f"{path}: year {key}: unexpected keys {sorted(unexpected)}")
    holidays = _parse_dates(path, key, "holidays", entry.get("holidays", []))
    workdays = _parse_dates(path, key, "workdays", entry.get("workdays", []))
    both = holidays & workdays
    if both:
        listed = ", ".join(d.isoformat() for d in sorted(both))
        raise ValueError(f"{path}: year {key}: {listed} listed both as holiday and as workday")
    return YearOverride(holidays, workdays)


def _parse_dates(path: Path, key: str, field: str, values: Any) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f"{path}: year {key}: {field!r} must be a list of YYYY-MM-DD dates")
    days = set()
    for i, value in enumerate(values):
        where = f"{path}: year {key}: {field}[{i}] = {value!r}"
        try:
            # date.fromisoformat would also take "20270101"; the file should read like the notices.
            d = datetime.strptime(value, "%Y-%m-%d").date()
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where} is not a YYYY-MM-DD date") from e
        if str(d.year) != key:
            raise ValueError(f"{where} is not in {key}")
        days.add(d)
    return frozenset(days)
