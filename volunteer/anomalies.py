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
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any

from volunteer.access import Principal, require_auditor_of
from volunteer.db import as_uuid
from volunteer.hours import distance_m
from volunteer.record_schemas import OrgAnomalyCount
from volunteer.regions import region_by_code
from volunteer.tables import LIVE_SQL, ServiceRecord

CHINA = timezone(timedelta(hours=8))
DAY_MINUTES = 24 * 60
MIN_SIGNUPS = 10
BURST_SIZE = 20
BURST_WINDOW = timedelta(hours=1)
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
    # One query at a time: callers may be inside a transaction, which must not be gathered over.
    return {
        Anomaly.overlapping_sessions: await _overlapping(scope),
        Anomaly.over_24h_day: await _over_24h(scope),
        Anomaly.manual_burst: await _manual_burst(scope),
        Anomaly.identical_coordinates: await _identical_coordinates(scope),
        Anomaly.device_far_from_site: await _device_far_from_site(scope),
    }


async def _ids(sql: str, *args: object) -> set[uuid.UUID]:
    return {as_uuid(r["id"]) for r in await ServiceRecord.raw(sql, *args)}


async def _overlapping(scope: Scope) -> set[uuid.UUID]:
    """Another non-rejected record of the same volunteer overlaps in time (touching ends do not)."""
    where, args = scope
    return await _ids(
        "SELECT DISTINCT r.id FROM service_record r JOIN service_record x ON x.volunteer = r.volunteer "
        f"AND x.id <> r.id AND x.status IN {LIVE_SQL} "
        "AND x.started_at < r.ended_at AND x.ended_at > r.started_at "
        f"WHERE {where}",
        *args,
    )


async def _over_24h(scope: Scope) -> set[uuid.UUID]:
    """Raw credited minutes of the volunteer's non-rejected records on the record's service date pass 24 h.

    Raw sums, not hours.credit_by_day: that one credits the union of time and so can never pass a day's
    1440 minutes; what is suspect is records claiming more minutes than the day has."""
    where, args = scope
    return await _ids(
        f"SELECT r.id FROM service_record r WHERE {where} AND (SELECT SUM(x.credited_minutes) "
        "FROM service_record x WHERE x.volunteer = r.volunteer AND x.service_date = r.service_date "
        f"AND x.status IN {LIVE_SQL}) > {DAY_MINUTES}",
        *args,
    )


async def _manual_burst(scope: Scope) -> set[uuid.UUID]:
    """Manual records whose recorder entered ≥ 20 manual records for the same organization within one hour
    of entry time (created_at), the record among them; rejected ones count towards the burst too."""
    where, args = scope
    candidates = await ServiceRecord.raw(
        "SELECT r.id, r.recorder, r.organization, r.created_at FROM service_record r "
        f"WHERE {where} AND r.source = 'manual' AND r.recorder IS NOT NULL",
        *args,
    )
    if not candidates:
        return set()
    times = [_instant(c["created_at"]) for c in candidates]
    recorders = list({as_uuid(c["recorder"]) for c in candidates})
    entered = await ServiceRecord.raw(
        "SELECT id, recorder, organization, created_at FROM service_record WHERE source = 'manual' "
        f"AND recorder IN ({_marks(len(recorders))}) AND created_at >= {{}} AND created_at <= {{}}",
        *recorders,
        min(times) - BURST_WINDOW,
        max(times) + BURST_WINDOW,
    )
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[datetime, uuid.UUID]]] = defaultdict(list)
    for e in entered:
        groups[(as_uuid(e["recorder"]), as_uuid(e["organization"]))].append(
            (_instant(e["created_at"]), as_uuid(e["id"]))
        )
    in_burst: set[uuid.UUID] = set()
    for entries in groups.values():
        entries.sort()
        starts = [at for at, _ in entries]
        for i, first in enumerate(starts):
            end = bisect.bisect_right(starts, first + BURST_WINDOW)
            if end - i >= BURST_SIZE:
                in_burst.update(record_id for _, record_id in entries[i:end])
    return {as_uuid(c["id"]) for c in candidates} & in_burst


async def _identical_coordinates(scope: Scope) -> set[uuid.UUID]:
    """Records of scans sharing exact coordinates with ≥ 10 accepted scans of the same session."""
    where, args = scope
    return await _ids(
        "SELECT DISTINCT r.id FROM service_record r "
        "JOIN scan s ON s.session = r.session AND s.volunteer = r.volunteer AND s.accepted "
        "JOIN (SELECT c.session, c.latitude, c.longitude FROM scan c WHERE c.accepted "
        "AND c.latitude IS NOT NULL AND c.longitude IS NOT NULL "
        f"AND c.session IN (SELECT r.session FROM service_record r WHERE {where}) "
        f"GROUP BY c.session, c.latitude, c.longitude HAVING COUNT(*) >= {MIN_SAME_FIX}) d "
        "ON d.session = s.session AND d.latitude = s.latitude AND d.longitude = s.longitude "
        f"WHERE {where}",
        *args,
        *args,
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
