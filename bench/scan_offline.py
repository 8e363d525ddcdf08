"""An organizer's device uploads a day of offline scans in batches, then (a retry) uploads them all again."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bench.load import build_request, fetch
from bench.scan_data import SITE, Person, Session
from volunteer.codes import CodeSigner

BATCH = 500  # OfflineBatch's limit
_UPLOAD_TIMEOUT_S = 120.0


def offline_scans(
    signer: CodeSigner, people: Sequence[Person], until: datetime, span: timedelta
) -> list[Any]:
    """Each volunteer checks in once, spread evenly over `span` before `until`, with the personal code
    their phone showed at that moment."""
    step = span / max(1, len(people))
    scans = []
    for i, person in enumerate(people):
        at = until - span + i * step
        scans.append(
            {
                "nonce": f"off-{i:08d}-{person.volunteer.hex[:12]}",
                "code": signer.personal_code(person.code_seq, at),
                "kind": "check_in",
                "device_time": at.isoformat(),
                "latitude": SITE[0],
                "longitude": SITE[1],
                "device_id": "bench-device-1",
            }
        )
    return scans


async def _upload(port: int, requests: list[bytes], label: str) -> tuple[float, Counter[str]]:
    """One batch after another, as one device would; returns the seconds and what the answers said."""
    outcomes: Counter[str] = Counter()
    shown = False
    started = time.perf_counter()
    for raw in requests:
        status, body = await fetch(port, raw, timeout_s=_UPLOAD_TIMEOUT_S)
        if status != 200:
            outcomes[f"http_{status}"] += 1
            if not shown:
                print(f"{label}: first error {status}: {body[:300].decode(errors='replace')}", flush=True)
                shown = True
            continue
        for out in json.loads(body):
            outcomes["replayed" if out["replayed"] else "accepted" if out["accepted"] else out["code"]] += 1
            if not out["accepted"] and not shown:
                print(f"{label}: first refusal: {json.dumps(out, ensure_ascii=False)}", flush=True)
                shown = True
    return time.perf_counter() - started, outcomes


async def _rows(conn: Any, sess: Session) -> int:
    rows: int = await conn.fetchval("SELECT count(*) FROM scan WHERE session = $1", sess.id)
    return rows


async def offline_phase(
    port: int, conn: Any, signer: CodeSigner, sess: Session, people: Sequence[Person], admin_token: str
) -> dict[str, float | int]:
    now = datetime.now(UTC)
    scans = offline_scans(signer, people, now - timedelta(minutes=1), timedelta(minutes=50))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {admin_token}"}
    path = f"/sessions/{sess.id}/scans/offline"
    requests = [
        build_request(
            "POST",
            path,
            port=port,
            headers=headers,
            body=msgspec.json.encode({"scans": scans[i : i + BATCH]}),
        )
        for i in range(0, len(scans), BATCH)
    ]
    before = await _rows(conn, sess)
    seconds, outcomes = await _upload(port, requests, "offline upload")
    print(f"offline upload: {len(scans)} scans in {len(requests)} batches, {seconds:.2f}s: {dict(outcomes)}")
    stored = await _rows(conn, sess)
    again_s, again = await _upload(port, requests, "offline re-upload")
    added = await _rows(conn, sess) - stored
    print(f"offline re-upload: {again_s:.2f}s: {dict(again)}, rows added {added}", flush=True)
    return {
        "offline_10k_s": round(seconds, 2),
        "offline_scans": len(scans),
        "offline_accepted": outcomes["accepted"],
        "offline_rows": stored - before,
        "offline_reupload_s": round(again_s, 2),
        "offline_reupload_added": added,
        "offline_reupload_replayed": again["replayed"],
    }
