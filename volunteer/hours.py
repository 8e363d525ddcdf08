"""Credited service time: session overlap, per-day caps, location plausibility and display; pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

# China Standard Time: UTC+8 all year (no daylight saving since 1991). Service days, deadlines and reports
# are China dates.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
MINUTE = timedelta(minutes=1)
EARTH_RADIUS_M = 6371008.8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1)
# China Standard Time is a fixed UTC+8 with no DST, so China midnights fall on the UTC minute grid.
_CHINA_OFFSET_MINUTES = 8 * 60
_DAY_MINUTES = 24 * 60
# GPS fixes scatter by tens of metres: a move this small is noise, never travel.
_GPS_NOISE_M = 100.0


def credited_minutes(check_in: datetime, check_out: datetime, start: datetime, end: datetime) -> int:
    """Credit only time that was both scanned and inside the session, and only minutes fully served."""
    overlap = min(check_out, end) - max(check_in, start)
    return max(overlap // MINUTE, 0)


@dataclass(frozen=True)
class Served:
    """One record's service time, already clipped to its session."""

    key: Hashable
    start: datetime
    end: datetime


def cap_per_day(served: Sequence[Served], cap_minutes: int = 1440) -> dict[Hashable, int]:
    """Credit one volunteer's records so that no time counts twice and no China day passes the cap."""
    result: dict[Hashable, int] = {s.key: 0 for s in served}
    for (key, _day), minutes in credit_by_day(served, cap_minutes).items():
        result[key] += minutes
    return result


def credit_by_day(served: Sequence[Served], cap_minutes: int = 1440) -> dict[tuple[Hashable, date], int]:
    """Split the capped credit by China calendar day, so daily approval tiers see the same minutes."""
    used: dict[int, int] = {}
    credit: dict[tuple[Hashable, date], int] = {}
    # Pieces arrive in time order, so "later minutes get nothing" is just "first come, first credited".
    for key, lo, hi in _attributed_pieces(served):
        while lo < hi:
            day = (lo + _CHINA_OFFSET_MINUTES) // _DAY_MINUTES
            part_end = min(hi, (day + 1) * _DAY_MINUTES - _CHINA_OFFSET_MINUTES)
            granted = min(part_end - lo, cap_minutes - used.get(day, 0))
            if granted > 0:
                used[day] = used.get(day, 0) + granted
                slot = (key, _EPOCH_DAY + timedelta(days=day))
                credit[slot] = credit.get(slot, 0) + granted
            lo = part_end
    return credit


def _attributed_pieces(served: Sequence[Served]) -> list[tuple[Hashable, int, int]]:
    """Give each whole minute of the union to the earliest-starting record covering it, in time order."""
    # Stable sort: records starting at the same instant keep the order they were given in.
    ordered = sorted((s for s in served if s.end > s.start), key=lambda s: s.start)
    pieces: list[tuple[Hashable, int, int]] = []
    for group in _overlapping_groups(ordered):
        first = group[0].start
        # Each record keeps its floored length but starts on the minute it began in; capping the group at
        # its own floored span keeps overlapping records with different seconds from gaining a minute.
        limit = _minute(first) + (max(s.end for s in group) - first) // MINUTE
        covered = _minute(first)
        for s in group:
            lo = max(_minute(s.start), covered)
            hi = min(_minute(s.start) + (s.end - s.start) // MINUTE, limit)
            if hi > lo:
                pieces.append((s.key, lo, hi))
                covered = hi
    return pieces


def _overlapping_groups(ordered: Sequence[Served]) -> list[list[Served]]:
    """Group records whose time overlaps; records that merely touch stay apart and keep their own minutes."""
    groups: list[list[Served]] = []
    group_end = _EPOCH
    for s in ordered:
        if groups and s.start < group_end:
            groups[-1].append(s)
            group_end = max(group_end, s.end)
        else:
            groups.append([s])
            group_end = s.end
    return groups


def _minute(at: datetime) -> int:
    """Number the UTC minute an instant falls in, so days and overlaps become integer arithmetic."""
    return (at - _EPOCH) // MINUTE


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance, accurate enough for geofences and travel-speed checks."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def outside_geofence(lat: float, lng: float, center_lat: float, center_lng: float, radius_m: float) -> bool:
    """Tell whether a scan was made away from the session's place."""
    return distance_m(lat, lng, center_lat, center_lng) > radius_m


@dataclass(frozen=True)
class Fix:
    """A scan's time and reported location; either coordinate may be absent."""

    at: datetime
    lat: float | None
    lng: float | None


def location_flags(previous: Fix | None, current: Fix, *, max_speed_kmh: float = 200.0) -> list[str]:
    """Flag implausible locations for audit; the scan itself is still accepted (rule 12)."""
    here = _coordinates(current)
    if here is None:
        return ["location_missing"]
    there = _coordinates(previous) if previous is not None else None
    if previous is None or there is None:
        return []
    if here == there:
        # Real fixes jitter; the exact same coordinates again suggest a spoofed location.
        return ["repeated_coordinates"]
    metres = distance_m(there[0], there[1], here[0], here[1])
    seconds = abs((current.at - previous.at).total_seconds())
    if metres > _GPS_NOISE_M and (seconds == 0 or metres / seconds * 3.6 > max_speed_kmh):
        return ["impossible_travel"]
    return []


def _coordinates(fix: Fix) -> tuple[float, float] | None:
    """Treat absent or out-of-range coordinates alike: neither says where the volunteer was."""
    if fix.lat is None or fix.lng is None:
        return None
    # Written as range checks so that NaN fails them too.
    if not (-90.0 <= fix.lat <= 90.0 and -180.0 <= fix.lng <= 180.0):
        return None
    return fix.lat, fix.lng


def format_hours(minutes: int) -> str:
    """Show stored minutes as hours with one decimal, the unit volunteers and certificates read."""
    # Tenths of an hour are 6 minutes; adding 3 before flooring rounds half up without floats.
    tenths = (abs(minutes) + 3) // 6
    sign = "-" if minutes < 0 and tenths else ""
    return f"{sign}{tenths // 10}.{tenths % 10}"
