"""Rule 22: anomalies computed across records, for the auditor's queue and per-organization counts.

Each detector takes a scope, an SQL condition on the alias `r` (service_record) with its arguments, so
the same queries serve one page of the queue and an organization's date range. Plain SQL that both
engines run; distances are computed in Python on the few scans that could qualify.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from volunteer.access import Principal, require_auditor_of
from volunteer.db import as_uuid
from volunteer.hours import CHINA, distance_m
from volunteer.record_schemas import OrgAnomalyCount
from volunteer.regions import region_by_code
from volunteer.tables import LIVE_SQL, ServiceRecord

DAY_MINUTES = 24 * 60
MIN_SIGNUPS = 10
BURST_SIZE = 20
BURST_WINDOW = timedelta(hours=1)
MAX_WINDOWS = 20  # entry-time ranges read for the candidates before one covering range is read instead
MIN_SAME_FIX = 10
MIN_FAR_VOLUNTEERS = 10
FAR_M = 1000.0


class Anomaly(StrEnum):
    overlapping_sessions = "overlapping_sessions"
    over_24h_day = "over_24h_day"
    signups_without_scans = "signups_without_scans"  # a session's, not a record's: counted per organization
    manual_burst = "manual_burst"
    identical_coordinates = "identical_coordinates"
    device_far_from_site = "device_far_from_site"


Scope = tuple[str, list[object]]
RECORD_KINDS = [a for a in Anomaly if a is not Anomaly.signups_without_scans]


def _marks(n: int) -> str:
    return ", ".join(["{}"] * n)


async def flags_for_records(record_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The anomalies of each given record (every id is a key; an empty list when none)."""
    ids = list(dict.fromkeys(record_ids))
    result: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if not ids:
        return result
    found = await _record_anomalies((f"r.id IN ({_marks(len(ids))})", list(ids)))
    for kind in RECORD_KINDS:
        for record_id in sorted(found[kind]):
            result.setdefault(record_id, []).append(kind.value)
    return result


async def organization_counts(
    actor: Principal, region_code: str, date_from: date, date_to: date
) -> list[OrgAnomalyCount]:
    region = await region_by_code(region_code)
    require_auditor_of(actor, region.path)
    return await counts_by_organization(region.path, date_from, date_to)


async def counts_by_organization(region_path: str, date_from: date, date_to: date) -> list[OrgAnomalyCount]:
    """Organizations under region_path with any anomaly among their non-rejected records of service
    dates in [date_from, date_to], or among their sessions starting (China time) on those dates."""
    orgs = "SELECT o.id FROM organization o JOIN region g ON g.id = o.region WHERE g.path LIKE {}"
    scope: Scope = (
        f"r.status IN {LIVE_SQL} AND r.service_date >= {{}} AND r.service_date <= {{}} "
        f"AND r.organization IN ({orgs})",
        [date_from, date_to, f"{region_path}%"],
    )
    found = await _record_anomalies(scope)
    counts: dict[uuid.UUID, dict[Anomaly, int]] = defaultdict(lambda: dict.fromkeys(Anomaly, 0))
    owner = await _organizations_of(set[uuid.UUID]().union(*found.values()))
    for kind, ids in found.items():
        for record_id in ids:
            counts[owner[record_id]][kind] += 1
    for org_id, sessions in (await _signups_without_scans(region_path, date_from, date_to)).items():
        counts[org_id][Anomaly.signups_without_scans] = sessions
    if not counts:
        return []
    rows = await ServiceRecord.raw(
        f"SELECT id, name FROM organization WHERE id IN ({_marks(len(counts))})", *counts
    )
    names = {as_uuid(r["id"]): str(r["name"]) for r in rows}
    return [
        OrgAnomalyCount(
            organization_id=org_id,
            organization_name=names[org_id],
            overlapping_sessions=counts[org_id][Anomaly.overlapping_sessions],
            over_24h_day=counts[org_id][Anomaly.over_24h_day],
            signups_without_scans=counts[org_id][Anomaly.signups_without_scans],
            manual_burst=counts[org_id][Anomaly.manual_burst],
            identical_coordinates=counts[org_id][Anomaly.identical_coordinates],
            device_far_from_site=counts[org_id][Anomaly.device_far_from_site],
        )
        for org_id in sorted(counts, key=lambda o: (names[o], str(o)))
    ]


async def _record_anomalies(scope: Scope) -> dict[Anomaly, set[uuid.UUID]]:
    """The set-based detectors and the manual-burst candidates in one query (one round trip instead of
    four), then the burst windows and the far devices, which need Python."""
    where, args = scope
    detectors = [
        (Anomaly.overlapping_sessions, _overlapping(scope)),
        (Anomaly.over_24h_day, _over_24h(scope)),
        (Anomaly.identical_coordinates, _identical_coordinates(scope)),
    ]
    # The typed branch first, so PostgreSQL gives the NULL columns of the others its types.
    sql = [
        "SELECT 'candidate' AS kind, r.id, r.recorder, r.organization, r.created_at FROM service_record r "
        f"WHERE {where} AND r.source = 'manual'"  # not `recorder IS NOT NULL`: see _manual_burst
    ]
    sql += [f"SELECT '{kind}', q.id, NULL, NULL, NULL FROM ({query}) q" for kind, (query, _) in detectors]
    every_arg = [*args, *(arg for _, (_, more) in detectors for arg in more)]
    rows = await ServiceRecord.raw(" UNION ALL ".join(sql), *every_arg)
    found: dict[Anomaly, set[uuid.UUID]] = {kind: set() for kind in RECORD_KINDS}
    candidates = []
    for row in rows:
        if row["kind"] == "candidate":
            candidates.append(row)
        else:
            found[Anomaly(row["kind"])].add(as_uuid(row["id"]))
    # One query at a time: callers may be inside a transaction, which must not be gathered over.
    found[Anomaly.manual_burst] = await _manual_burst(candidates)
    found[Anomaly.device_far_from_site] = await _device_far_from_site(scope)
    return found


def _overlapping(scope: Scope) -> Scope:
    """Another non-rejected record of the same volunteer overlaps in time (touching ends do not)."""
    where, args = scope
    return (
        "SELECT DISTINCT r.id FROM service_record r JOIN service_record x ON x.volunteer = r.volunteer "
        f"AND x.id <> r.id AND x.status IN {LIVE_SQL} "
        "AND x.started_at < r.ended_at AND x.ended_at > r.started_at "
        f"WHERE {where}",
        args,
    )


def _over_24h(scope: Scope) -> Scope:
    """Raw credited minutes of the volunteer's non-rejected records on the record's service date pass 24 h.

    Raw sums, not hours.credit_by_day: that one credits the union of time and so can never pass a day's
    1440 minutes; what is suspect is records claiming more minutes than the day has."""
    where, args = scope
    return (
        f"SELECT r.id FROM service_record r WHERE {where} AND (SELECT SUM(x.credited_minutes) "
        "FROM service_record x WHERE x.volunteer = r.volunteer AND x.service_date = r.service_date "
        f"AND x.status IN {LIVE_SQL}) > {DAY_MINUTES}",
        args,
    )


async def _manual_burst(candidates: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Manual records whose recorder entered ≥ 20 manual records for the same organization within one hour
    of entry time (created_at), the record among them; rejected ones count towards the burst too.

    candidates: the scope's manual records (id, recorder, organization, created_at). A record is in such
    an hour when some entry of its recorder and organization, at most an hour before it, starts an hour
    holding ≥ 20 entries; so only entries within an hour either side of a candidate are read, and each
    candidate checks the hours starting in the hour before it."""
    # Checked here rather than in SQL: `recorder IS NOT NULL` would match the partial index on recorders'
    # entries, which PostgreSQL then reads whole to AND it with the scope (17 ms a page, bench audit).
    candidates = [c for c in candidates if c["recorder"] is not None]
    if not candidates:
        return set()
    found = [
        (as_uuid(c["recorder"]), as_uuid(c["organization"]), _instant(c["created_at"]), c) for c in candidates
    ]
    recorders = list({recorder for recorder, _, _, _ in found})
    organizations = list({organization for _, organization, _, _ in found})
    windows = _merged_windows(sorted(at for _, _, at, _ in found))
    if len(windows) > MAX_WINDOWS:  # many spread-out candidates: one range covering them all
        windows = [(windows[0][0], windows[-1][1])]
    entered = await ServiceRecord.raw(
        "SELECT recorder, organization, created_at FROM service_record WHERE source = 'manual' "
        f"AND recorder IN ({_marks(len(recorders))}) AND organization IN ({_marks(len(organizations))}) "
        "AND (" + " OR ".join(["(created_at >= {} AND created_at <= {})"] * len(windows)) + ")",
        *recorders,
        *organizations,
        *[at for window in windows for at in window],
    )
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[datetime]] = defaultdict(list)
    for e in entered:
        groups[(as_uuid(e["recorder"]), as_uuid(e["organization"]))].append(_instant(e["created_at"]))
    for times in groups.values():
        times.sort()
    return {
        as_uuid(c["id"])
        for recorder, organization, at, c in found
        if _in_burst(groups[(recorder, organization)], at)
    }


def _merged_windows(times: list[datetime]) -> list[tuple[datetime, datetime]]:
    """[t - 1 h, t + 1 h] around each of the sorted times, overlapping ones merged."""
    windows: list[tuple[datetime, datetime]] = []
    for at in times:
        if windows and at - BURST_WINDOW <= windows[-1][1]:
            windows[-1] = (windows[-1][0], at + BURST_WINDOW)
        else:
            windows.append((at - BURST_WINDOW, at + BURST_WINDOW))
    return windows


def _in_burst(times: list[datetime], at: datetime) -> bool:
    """Whether an hour [s, s + 1 h] with s one of the sorted entry times and s ≤ at ≤ s + 1 h holds
    ≥ BURST_SIZE entries."""
    i = bisect.bisect_left(times, at - BURST_WINDOW)
    last = bisect.bisect_right(times, at)
    while i < last:
        first = times[i]
        if bisect.bisect_right(times, first + BURST_WINDOW) - i >= BURST_SIZE:
            return True
        i = bisect.bisect_right(times, first, i)  # the next distinct entry time
    return False


def _identical_coordinates(scope: Scope) -> Scope:
    """Records of scans sharing exact coordinates with ≥ 10 accepted scans of the same session."""
    where, args = scope
    return (
        "SELECT DISTINCT r.id FROM service_record r "
        "JOIN scan s ON s.session = r.session AND s.volunteer = r.volunteer AND s.accepted "
        "JOIN (SELECT c.session, c.latitude, c.longitude FROM scan c WHERE c.accepted "
        "AND c.latitude IS NOT NULL AND c.longitude IS NOT NULL "
        f"AND c.session IN (SELECT r.session FROM service_record r WHERE {where}) "
        f"GROUP BY c.session, c.latitude, c.longitude HAVING COUNT(*) >= {MIN_SAME_FIX}) d "
        "ON d.session = s.session AND d.latitude = s.latitude AND d.longitude = s.longitude "
        f"WHERE {where}",
        [*args, *args],
    )


async def _device_far_from_site(scope: Scope) -> set[uuid.UUID]:
    """Records of volunteers whose accepted check-in came from a device that checked in ≥ 10 volunteers
    of that session more than 1 km from the project's coordinates."""
    where, args = scope
    scans = await ServiceRecord.raw(
        "SELECT s.session, s.device_id, s.volunteer, s.latitude, s.longitude, "
        "p.latitude AS site_lat, p.longitude AS site_lng FROM scan s "
        "JOIN service_session ss ON ss.id = s.session JOIN project p ON p.id = ss.project "
        "JOIN (SELECT c.session, c.device_id FROM scan c WHERE c.accepted AND c.kind = 'check_in' "
        "AND c.device_id IS NOT NULL "
        f"AND c.session IN (SELECT r.session FROM service_record r WHERE {where}) "
        f"GROUP BY c.session, c.device_id HAVING COUNT(DISTINCT c.volunteer) >= {MIN_FAR_VOLUNTEERS}) d "
        "ON d.session = s.session AND d.device_id = s.device_id "
        "WHERE s.accepted AND s.kind = 'check_in' AND s.latitude IS NOT NULL AND s.longitude IS NOT NULL "
        "AND p.latitude IS NOT NULL AND p.longitude IS NOT NULL",
        *args,
    )
    far: dict[tuple[uuid.UUID, str], set[uuid.UUID]] = defaultdict(set)
    for s in scans:
        if distance_m(s["latitude"], s["longitude"], s["site_lat"], s["site_lng"]) > FAR_M:
            far[(as_uuid(s["session"]), str(s["device_id"]))].add(as_uuid(s["volunteer"]))
    pairs = {
        (session_id, volunteer_id)
        for (session_id, _), volunteers in far.items()
        if len(volunteers) >= MIN_FAR_VOLUNTEERS
        for volunteer_id in volunteers
    }
    if not pairs:
        return set()
    sessions = list({session_id for session_id, _ in pairs})
    rows = await ServiceRecord.raw(
        f"SELECT r.id, r.session, r.volunteer FROM service_record r WHERE ({where}) "
        f"AND r.session IN ({_marks(len(sessions))})",
        *args,
        *sessions,
    )
    return {as_uuid(r["id"]) for r in rows if (as_uuid(r["session"]), as_uuid(r["volunteer"])) in pairs}


async def _signups_without_scans(region_path: str, date_from: date, date_to: date) -> dict[uuid.UUID, int]:
    """Per organization: settled sessions (so sign-ups are final) starting on the dates, China time, with
    ≥ 10 approved or no-show sign-ups and not one accepted scan."""
    rows = await ServiceRecord.raw(
        "SELECT p.organization, COUNT(*) AS n FROM service_session ss JOIN project p ON p.id = ss.project "
        "JOIN organization o ON o.id = p.organization JOIN region g ON g.id = o.region "
        "WHERE g.path LIKE {} AND ss.settled_at IS NOT NULL AND ss.starts_at >= {} AND ss.starts_at < {} "
        "AND (SELECT COUNT(*) FROM signup su WHERE su.session = ss.id "
        f"AND su.status IN ('approved', 'no_show')) >= {MIN_SIGNUPS} "
        "AND NOT EXISTS (SELECT 1 FROM scan s WHERE s.session = ss.id AND s.accepted) "
        "GROUP BY p.organization",
        f"{region_path}%",
        _china_midnight(date_from),
        _china_midnight(date_to + timedelta(days=1)),
    )
    return {as_uuid(r["organization"]): int(r["n"]) for r in rows}


async def _organizations_of(record_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    ids = list(record_ids)
    owner: dict[uuid.UUID, uuid.UUID] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = await ServiceRecord.raw(
            f"SELECT id, organization FROM service_record WHERE id IN ({_marks(len(chunk))})", *chunk
        )
        owner.update({as_uuid(r["id"]): as_uuid(r["organization"]) for r in rows})
    return owner


def _china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), CHINA).astimezone(UTC)


def _instant(value: Any) -> datetime:
    """Raw queries may hand timestamps back as text on SQLite."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
