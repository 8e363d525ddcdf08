"""Messages people act on: rule 17 reminders and escalations, manual entries awaiting approval.

A notification is addressed to an organization (its admins see it), to the auditors of a region (every
auditor whose jurisdiction contains that region path sees it) or to one account. `key` makes a job that
runs twice notify once. Read state is kept on the notification, so one admin reading it reads it for all.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from errors import NOTIFICATION_NOT_FOUND, DomainError
from volunteer.access import Principal
from volunteer.db import as_datetime, as_uuid, as_uuid_or_none, single_write
from volunteer.tables import Notification, Role


@dataclass(frozen=True, slots=True)
class Note:
    id: uuid.UUID
    kind: str
    title: str
    body: str
    detail: dict[str, Any]
    organization_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


async def notify(
    kind: str,
    *,
    title: str,
    body: str,
    now: datetime,
    organization: uuid.UUID | None = None,
    region_path: str | None = None,
    account: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    key: str | None = None,
) -> bool:
    """Insert one notification; False when one with the same key exists already."""
    async with single_write():
        inserted = await Notification.raw(
            "INSERT INTO notification (id, kind, organization, region_path, account, title, body, detail, "
            "key, created_at, read_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, NULL) "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            uuid.uuid4(),
            kind,
            organization,
            region_path,
            account,
            title,
            body,
            json.dumps(detail or {}, ensure_ascii=False),
            key,
            now,
        )
    return bool(inserted)


def _audience(actor: Principal) -> tuple[str, list[object]]:
    """The WHERE clause of what the actor may see: addressed to them, their organizations, their regions."""
    clauses: list[str] = ["n.account = {}"]
    args: list[object] = [actor.account_id]
    orgs = [g.organization_id for g in actor.grants if g.role is Role.org_admin and g.organization_id]
    if orgs:
        clauses.append(f"n.organization IN ({', '.join(['{}'] * len(orgs))})")
        args.extend(orgs)
    for path in actor.regions(Role.auditor):
        # Region paths are digits and slashes: no LIKE wildcards to escape.
        clauses.append("n.region_path LIKE {}")
        args.append(path + "%")
    return "(" + " OR ".join(clauses) + ")", args


_COLUMNS = "n.id, n.kind, n.title, n.body, n.detail, n.organization, n.created_at, n.read_at"


async def visible(actor: Principal, *, unread: bool, limit: int, offset: int) -> list[Note]:
    where, args = _audience(actor)
    if unread:
        where += " AND n.read_at IS NULL"
    rows = await Notification.raw(
        f"SELECT {_COLUMNS} FROM notification n WHERE {where} "
        "ORDER BY n.created_at DESC, n.id DESC LIMIT {} OFFSET {}",
        *args,
        limit,
        offset,
    )
    return [_note(r) for r in rows]


async def mark_read(actor: Principal, notification_id: uuid.UUID, now: datetime) -> Note:
    """Marks a notification the actor can see as read (once: the first reading time stays)."""
    where, args = _audience(actor)
    async with single_write():
        await Notification.raw(
            f"UPDATE notification SET read_at = {{}} WHERE id = {{}} AND read_at IS NULL AND id IN "
            f"(SELECT n.id FROM notification n WHERE {where})",
            now,
            notification_id,
            *args,
        )
    rows = await Notification.raw(
        f"SELECT {_COLUMNS} FROM notification n WHERE n.id = {{}} AND {where}", notification_id, *args
    )
    if not rows:
        raise DomainError(NOTIFICATION_NOT_FOUND)
    return _note(rows[0])


def _note(row: dict[str, Any]) -> Note:
    detail = row["detail"]
    if isinstance(detail, str):
        detail = json.loads(detail)
    return Note(
        id=as_uuid(row["id"]),
        kind=str(row["kind"]),
        title=str(row["title"]),
        body=str(row["body"]),
        detail=detail if isinstance(detail, dict) else {},
        organization_id=as_uuid_or_none(row["organization"]),
        created_at=as_datetime(row["created_at"]),
        read_at=None if row["read_at"] is None else as_datetime(row["read_at"]),
    )
