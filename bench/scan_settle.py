"""Settling yesterday's sessions in a child process of its own, so its peak memory is its own.

`python -m bench.scan_settle` is the child: DATABASE_URL names the database, and its one stdout line
is the figures as JSON. Peak memory is VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
parent at fork and exec, so a child of a large benchmark process would report the parent's size.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scan_data import Batch, Org, Person, attended, session, signups, volunteers
from bench.server import REPO_ROOT
from volunteer.hours import CHINA

_SPACING = timedelta(minutes=6)
_LENGTH = timedelta(hours=2)


def ended_yesterday(
    batch: Batch, org: Org, first_volunteer: int, sessions: int, per_session: int, now: datetime
) -> list[Person]:
    """Two-hour sessions yesterday, one starting every 6 minutes from 07:00 China time, every volunteer at
    two of them (k and k + sessions/2, hours apart), checked in and out; returns the volunteers."""
    pool = per_session * max(1, sessions // 2)
    people = volunteers(batch, org.region, first_volunteer, pool, now, accounts=False)
    yesterday = (now.astimezone(CHINA) - timedelta(days=1)).date()
    first_start = datetime(yesterday.year, yesterday.month, yesterday.day, 7, tzinfo=CHINA)
    for k in range(sessions):
        starts = first_start + k * _SPACING
        ended = session(batch, org, 1000 + k, starts, starts + _LENGTH, now)
        members = [people[(k * per_session + j) % pool] for j in range(per_session)]
        signups(batch, ended, members, now)
        attended(batch, ended, members, org.admin)
    return people


def history(batch: Batch, org: Org, people: list[Person], now: datetime) -> None:
    """One audited record a week ago per volunteer: a live service_record table is not empty, and the
    planner's statistics for it must not be those of an empty table (a cold table is another benchmark)."""
    served = now - timedelta(days=7)
    batch.add(
        "service_record",
        ("id", "volunteer", "organization", "project", "session", "activity_name", "service_date", "place",
         "content", "started_at", "ended_at", "credited_minutes", "person_in_charge", "recorder", "source",
         "status", "verified", "flags", "settlement_key", "created_at"),
        [(uuid.uuid4(), p.volunteer, org.id, org.project, None, "社区服务",
          served.astimezone(CHINA).date(), "城桥镇鳌山路1号", "", served, served + _LENGTH, 120, "李队长",
          org.admin, "manual", "audited", False, "[]", None, now)
         for p in people],
    )  # fmt: skip


async def run_child(env: Mapping[str, str]) -> dict[str, Any]:
    """Runs this module as a subprocess with env added; its stderr is inherited."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.scan_settle",
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"settlement subprocess exited with {process.returncode}; its stderr is above")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


async def _settle_due() -> dict[str, Any]:
    # Imported here: piccolo_conf reads DATABASE_URL when first imported, in the child only.
    from settings import load_settings
    from volunteer import settlement
    from volunteer.db import close_database, open_database

    settings = load_settings()
    grace = timedelta(minutes=settings.checkin_grace_min)
    now = datetime.now(UTC)
    await open_database()
    try:
        started = time.perf_counter()
        due = await settlement.sessions_due(now, grace)
        records = closed = no_shows = 0
        for session_id in due:
            settled = await settlement.settle_session(session_id, now, daily_cap=settings.daily_cap_min)
            if settled is not None:
                records, closed = records + settled.records, closed + settled.closed_check_outs
                no_shows += settled.no_shows
        seconds = time.perf_counter() - started
    finally:
        await close_database()
    return {
        "seconds": seconds,
        "sessions": len(due),
        "records": records,
        "closed_check_outs": closed,
        "no_shows": no_shows,
        "peak_mb": _peak_kib() / 1024,
    }


def _peak_kib() -> int:
    """This process's own peak resident set (VmHWM), in KiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, includes the parent's


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_settle_due())), flush=True)
