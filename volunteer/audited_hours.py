"""What follows when a volunteer's audited minutes change (rules 20, 23, 24).

Called inside the transaction that changed them, so a star level or a certificate never disagrees with
the records it stands on: audited minutes gained may raise a star level (after 公示); audited records
withdrawn (revoked, or superseded by a correction) revoke the certificates that counted them and may
lower a star level.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from volunteer import certificates, star_levels
from volunteer.record_rules import RecordRules


async def gained(volunteer_ids: Iterable[uuid.UUID], rules: RecordRules, now: datetime) -> None:
    await star_levels.recompute(set(volunteer_ids), rules, now)


async def withdrawn(
    records: Sequence[tuple[uuid.UUID, uuid.UUID]],
    reason: str,
    actor: uuid.UUID | None,
    rules: RecordRules,
    now: datetime,
) -> None:
    """records: (record id, volunteer id) pairs that stopped being audited."""
    if not records:
        return
    await certificates.records_withdrawn([r for r, _ in records], reason, actor, now)
    await star_levels.recompute({v for _, v in records}, rules, now)
