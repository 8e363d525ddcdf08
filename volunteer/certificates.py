"""Certificates (志愿服务记录证明, rule 23). Skeleton: the interface other modules call; being built."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime


async def records_withdrawn(
    record_ids: Sequence[uuid.UUID], reason: str, actor: uuid.UUID | None, now: datetime
) -> list[uuid.UUID]:
    """Inside the caller's write transaction: revoke every valid certificate that counted one of these
    records; returns the revoked certificates' ids."""
    return []
