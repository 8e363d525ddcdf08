"""Rule 21: the append-only audit log, each entry carrying the hash of the one before, so that any later
change to a stored entry breaks the chain where it was made.

hash = sha256(prev_hash + canonical JSON of the entry's fields); canonical JSON has sorted keys, no
whitespace, UTF-8, UUIDs as strings and UTC timestamps as "YYYY-MM-DDTHH:MM:SS.ffffffZ", so both engines
reproduce it byte for byte. The first entry's prev_hash is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from volunteer.access import Principal, require_role
from volunteer.db import as_uuid, as_uuid_or_none, engine
from volunteer.tables import AuditEntry, Role

GENESIS = "0" * 64
# Key of the PostgreSQL advisory lock that queues appenders until the previous entry commits.
_APPEND_LOCK = 0x61756469746C6F67  # "auditlog"
_ACTION = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")
_COLUMNS = "id, seq, at, actor, action, subject_type, subject_id, region_path, detail, prev_hash, hash"


class BreakReason(StrEnum):
    hash_mismatch = "hash_mismatch"  # the entry no longer matches its own hash: it was edited
    broken_link = "broken_link"  # prev_hash is not the hash of the entry before: that one was rewritten
    missing_seq = "missing_seq"  # entries before this one are gone


REASON_TEXT = {
    BreakReason.hash_mismatch: "条目内容与其哈希不符",
    BreakReason.broken_link: "与上一条的哈希链接断开，上一条被改写",
    BreakReason.missing_seq: "序号不连续，此前的条目被删除",
}


@dataclass(frozen=True, slots=True)
class Entry:
    id: uuid.UUID
    seq: int
    at: datetime
    actor: uuid.UUID | None  # None: the system
    action: str
    subject_type: str
    subject_id: str
    region_path: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Broken:
    seq: int
    id: uuid.UUID
    reason: BreakReason


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    broken: Broken | None
    head_hash: str  # hash of the last intact entry: noted elsewhere, it also reveals a truncated tail


async def append(
    action: str,
    *,
    actor: uuid.UUID | None,
    subject_type: str,
    subject_id: str,
    detail: Mapping[str, object],
    region_path: str | None,
    now: datetime,
) -> Entry:
    """Call inside the caller's write_transaction(), so the entry commits with the action or not at all.

    detail is JSON-native and never holds personal data (names, ID or phone numbers): the log is kept
    forever and shown to auditors. Appends are serialized, so the chain never forks: an advisory lock on
    PostgreSQL (held to commit, so append late in the transaction), the process's writer lock on SQLite.
    """
    db = engine()
    assert db.current_transaction.get() is not None, "audit_log.append needs the caller's write_transaction()"
    _check(action, subject_type, subject_id, region_path, now)
    # A JSON-native copy: what is hashed is exactly what a later read parses back.
    payload: dict[str, Any] = json.loads(_canonical(dict(detail)))
    if db.engine_type == "postgres":
        await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", _APPEND_LOCK)
    last = await AuditEntry.raw("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1")
    seq, prev_hash = (int(last[0]["seq"]) + 1, str(last[0]["hash"])) if last else (1, GENESIS)
    entry = Entry(
        id=uuid.uuid4(),
        seq=seq,
        at=_utc(now),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        region_path=region_path,
        detail=payload,
        prev_hash=prev_hash,
        hash="",
    )
    digest = entry_hash(entry)
    await AuditEntry.raw(
        f"INSERT INTO audit_entry ({_COLUMNS}) VALUES ({', '.join(['{}'] * 11)})",
        entry.id,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.region_path,
        _canonical(payload),
        entry.prev_hash,
        digest,
    )
    return replace(entry, hash=digest)


def entry_hash(entry: Entry) -> str:
    """sha256 over the previous hash and the canonical JSON of every field but the hash itself."""
    body = {
        "id": str(entry.id),
        "seq": entry.seq,
        "at": _stamp(entry.at),
        "actor": None if entry.actor is None else str(entry.actor),
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "region_path": entry.region_path,
        "detail": entry.detail,
    }
    return hashlib.sha256((entry.prev_hash + _canonical(body)).encode()).hexdigest()


async def verify_chain(*, batch: int = 5000) -> ChainReport:
    """Walks the chain in seq order a batch at a time (the log holds millions) and stops at the first
    broken entry. Entries appended after the walk started are left to the next run."""
    top = await AuditEntry.raw("SELECT max(seq) AS top FROM audit_entry")
    last = int(top[0]["top"] or 0)
    prev_seq, prev_hash, checked = 0, GENESIS, 0
    while prev_seq < last:
        rows = await AuditEntry.raw(
            f"SELECT {_COLUMNS} FROM audit_entry WHERE seq > {{}} AND seq <= {{}} ORDER BY seq LIMIT {{}}",
            prev_seq,
            last,
            batch,
        )
        if not rows:
            break
        for row in rows:
            checked += 1
            try:
                entry = _entry(row)
            except ValueError:  # SQLite lets an edit leave a value that no longer parses
                broken = Broken(int(row["seq"]), as_uuid(row["id"]), BreakReason.hash_mismatch)
                return ChainReport(False, checked, broken, prev_hash)
            reason = _fault(entry, prev_seq, prev_hash)
            if reason is not None:
                return ChainReport(False, checked, Broken(entry.seq, entry.id, reason), prev_hash)
            prev_seq, prev_hash = entry.seq, entry.hash
    return ChainReport(True, checked, None, prev_hash)


def describe(report: ChainReport) -> str:
    """The operator's one-line verdict, in Chinese."""
    if report.broken is None:
        return f"审计日志完整：共 {report.checked} 条"
    b = report.broken
    return f"审计日志在第 {b.seq} 条被改动（{b.reason}：{REASON_TEXT[b.reason]}），条目 id {b.id}"


async def entries_for(principal: Principal, *, limit: int, offset: int) -> list[Entry]:
    """Newest first: admins see every entry, auditors those in the regions of their grants."""
    require_role(principal, Role.auditor, Role.admin)
    sql = f"SELECT {_COLUMNS} FROM audit_entry "
    args: list[object] = []
    if not principal.is_admin:
        paths = principal.regions(Role.auditor)
        if not paths:
            return []
        sql += "WHERE " + " OR ".join(["region_path LIKE {}"] * len(paths)) + " "
        args = [f"{p}%" for p in paths]
    rows = await AuditEntry.raw(sql + "ORDER BY seq DESC LIMIT {} OFFSET {}", *args, limit, offset)
    return [_entry(r) for r in rows]


def _fault(entry: Entry, prev_seq: int, prev_hash: str) -> BreakReason | None:
    if entry_hash(entry) != entry.hash:
        return BreakReason.hash_mismatch
    if entry.seq != prev_seq + 1:
        return BreakReason.missing_seq
    if entry.prev_hash != prev_hash:
        return BreakReason.broken_link
    return None


def _check(action: str, subject_type: str, subject_id: str, region_path: str | None, now: datetime) -> None:
    """Caller bugs, refused alike on both engines (SQLite would store an over-long value)."""
    if not _ACTION.fullmatch(action) or len(action) > 48:
        raise ValueError(f"audit action must look like 'record.confirm': {action!r}")
    if not 0 < len(subject_type) <= 32 or not 0 < len(subject_id) <= 64:
        raise ValueError("audit subject_type (≤32) and subject_id (≤64) must be given")
    if region_path is not None and len(region_path) > 80:
        raise ValueError("audit region_path is longer than 80")
    if now.tzinfo is None:
        raise ValueError("audit time must carry a timezone")


def _entry(row: dict[str, Any]) -> Entry:
    detail = row["detail"]
    return Entry(
        id=as_uuid(row["id"]),
        seq=int(row["seq"]),
        at=_utc(row["at"]),
        actor=as_uuid_or_none(row["actor"]),
        action=row["action"],
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        region_path=row["region_path"],
        detail=json.loads(detail) if isinstance(detail, str | bytes) else detail,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _utc(value: object) -> datetime:
    """Timestamps are normalized only here: SQLite returns text for some queries, datetimes for others."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _stamp(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
