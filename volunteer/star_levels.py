"""Star levels from audited hours (rule 24). Skeleton: the interface other modules call; being built."""

from __future__ import annotations

import uuid
from collections.abc import Set
from datetime import datetime

from volunteer.record_rules import RecordRules


async def recompute(volunteer_ids: Set[uuid.UUID], rules: RecordRules, now: datetime) -> None:
    """Inside the caller's write transaction: bring these volunteers' star levels in line with their
    audited minutes (propose with 公示 on a rise, withdraw or demote on a fall)."""
