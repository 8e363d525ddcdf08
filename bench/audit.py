"""The auditor's side at a district's scale: the audit queue against its own SQL over raw asyncpg, monthly
statistics, the full-year XLSX export (server peak memory against a tenth of the rows) and certificates."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.audit_data import DAYS, FIRST_DAY, FLAG, MONTHS, District, Sizes, seed_district
from bench.data import connect, database_url, fresh_database, migrate, mint_tokens
from bench.load import HOST, build_request, read_response, run_load
from bench.server import serve
from settings import generate_secrets
from volunteer.certificate_pdf import CertificateData, RecordingUnit, ServiceLine, render_certificate

DATABASE = "volunteer_bench"
FACTORY = "app:create_app"
STREET_PATH = "310151/{}/"
EXPORT_TIMEOUT_S = float(os.environ.get("BENCH_EXPORT_TIMEOUT_S") or 1200)
# BENCH_REUSE=1: keep a volunteer_bench seeded with the same sizes by an earlier run (only new migrations
# are applied); the benchmark only reads, so the data stay as seeded.
SEED_MARK = "bench_seed"
# BENCH_INDEXES=1: candidate indexes created in the bench database only, to measure what they would change.
CANDIDATE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS bench_service_record_org_date ON service_record (organization, service_date)",
    "CREATE INDEX IF NOT EXISTS bench_service_record_date_id ON service_record (service_date, id)",
]

# volunteer/audit_queue.py's query for an auditor of one region with a region_code, a date range and
# optionally a flag; its {} markers become asyncpg's $n. Run as the app runs it: in a transaction planned
# for each call's arguments (statistics.planned_for_each_call).
QUEUE_SQL = (
    "SELECT r.id, r.volunteer, v.name AS volunteer_name, v.volunteer_no, r.organization, "
    "o.name AS organization_name, r.project, r.activity_name, r.service_date, r.started_at, r.ended_at, "
    "r.credited_minutes, r.source, r.verified, r.flags, r.version, r.late_reason, r.evidence "
    "FROM service_record r "
    "JOIN volunteer v ON v.id = r.volunteer JOIN organization o ON o.id = r.organization "
    "JOIN region g ON g.id = o.region WHERE r.status = 'confirmed' AND (g.path LIKE $1) AND g.path LIKE $2 "
    "AND r.service_date >= $3 AND r.service_date <= $4{flag} "
    "ORDER BY r.service_date, r.id LIMIT {limit} OFFSET {offset}"
)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _month_range(i: int) -> tuple[date, date]:
    year, month = (int(part) for part in MONTHS[i % len(MONTHS)].split("-"))
    first = date(year, month, 1)
    return first, date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _queue_query(district: District, i: int, flag: bool) -> dict[str, str]:
    first, last = _month_range(i)
    query = {"region_code": district.streets[i % len(district.streets)], "date_from": first.isoformat()}
    query |= {"date_to": last.isoformat(), "limit": "50"}
    return query | ({"flag": FLAG} if flag else {})


def _ms(sorted_s: list[float], q: float) -> float:
    return round(sorted_s[min(len(sorted_s) - 1, int(q * len(sorted_s)))] * 1000, 2)


async def _http_series(
    port: int, token: str, path: str, query: Callable[[int], dict[str, str]], total: int, label: str
) -> tuple[float, float]:
    """Sequential requests (one connection): latency, not throughput, is the target."""
    headers = {"Authorization": f"Bearer {token}"}

    def build(i: int) -> bytes:
        return build_request("GET", f"{path}?{urlencode(query(i))}", port=port, headers=headers)

    def show(status: int, body: bytes) -> None:
        print(f"{label}: {status} {body[:300]!r}", flush=True)

    await run_load(port, build, total=10, concurrency=1, on_unexpected=show)  # warm caches and the pool
    res = await run_load(port, build, total=total, concurrency=1, timeout_s=30.0, on_unexpected=show)
    print(f"{label}: {res.line()}", flush=True)
    if res.errors:
        raise RuntimeError(f"{label}: {res.errors} failed requests {res.statuses}")
    return round(res.p50_ms, 2), round(res.p95_ms, 2)


async def _baseline_series(
    conn: Any, district: District, total: int, flag: bool, label: str
) -> tuple[float, float]:
    sql = QUEUE_SQL.format(flag=" AND CAST(r.flags AS TEXT) LIKE $5" if flag else "", limit=50, offset=0)
    times: list[float] = []
    for i in range(-10, total):
        q = _queue_query(district, i % 120, flag)
        args: list[Any] = ["310151/%", STREET_PATH.format(q["region_code"]) + "%"]
        args += [date.fromisoformat(q["date_from"]), date.fromisoformat(q["date_to"])]
        args += [f'%"{FLAG}"%'] if flag else []
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            await conn.fetch(sql, *args)
        if i >= 0:
            times.append(time.perf_counter() - started)
    times.sort()
    p50, p95 = _ms(times, 0.5), _ms(times, 0.95)
    print(f"{label}: {total} queries, p50 {p50} ms, p95 {p95} ms", flush=True)
    return p50, p95


def _memory_kb(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of the server and its worker processes (one process with BENCH_WORKERS=1)."""
    totals = {"VmHWM": 0, "VmRSS": 0}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in totals:
                    totals[name] += int(value.split()[0])
            pending += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except FileNotFoundError:
            continue
    return totals


async def _download(port: int, raw: bytes, timeout_s: float) -> tuple[int, int]:
    """Status and body size; the body is counted as it arrives, never kept."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            if b"transfer-encoding: chunked" not in head.lower():  # Connection: close, so up to EOF
                size = 0
                while chunk_bytes := await reader.read(1 << 16):
                    size += len(chunk_bytes)
                return status, size
            size = 0
            while chunk := int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16):
                size += len(await reader.readexactly(chunk + 2)) - 2
            return status, size
        finally:
            writer.close()


async def _export(
    env: dict[str, str], token: str, date_from: date, date_to: date, label: str
) -> dict[str, float]:
    """One export in a server process of its own, so its VmHWM is this export's peak."""
    query = urlencode(
        {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "region_code": "310151"}
    )
    async with serve(FACTORY, env) as server:
        raw = build_request(
            "GET",
            "/records/audit-queue?limit=1",
            port=server.port,
            headers={"Authorization": f"Bearer {token}"},
        )
        await _fetch_once(server.port, raw)  # the pool and the imports, as a serving process has them
        before = _memory_kb(server.process.pid)
        raw = build_request(
            "GET", f"/reports/records.xlsx?{query}", port=server.port,
            headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        )  # fmt: skip
        started = time.perf_counter()
        try:
            status, size = await _download(server.port, raw, timeout_s=EXPORT_TIMEOUT_S)
        except TimeoutError:  # the peak so far still says whether memory grows with the rows read
            status, size = 0, 0
        seconds = time.perf_counter() - started
        after = _memory_kb(server.process.pid)
    if status == 0:
        print(f"{label}: no complete download within {EXPORT_TIMEOUT_S:.0f}s", flush=True)
    elif status != 200:
        raise RuntimeError(f"{label}: export answered {status}")
    peak = after["VmHWM"] / 1024
    rss, hwm = before["VmRSS"] / 1024, before["VmHWM"] / 1024
    print(
        f"{label}: {size / 1e6:.1f} MB xlsx in {seconds:.1f}s; server before: RSS {rss:.0f} MB, "
        f"peak so far {hwm:.0f} MB; peak after {peak:.0f} MB (+{peak - rss:.0f} MB over RSS)",
        flush=True,
    )
    return {
        "s": round(seconds, 2),
        "peak_mb": round(peak, 1),
        "bytes": size,
        "timed_out": int(status == 0),
        "rss_before_mb": round(before["VmRSS"] / 1024, 1),
    }


async def _fetch_once(port: int, raw: bytes) -> tuple[int, bytes, bool]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(raw)
        return await read_response(reader)
    finally:
        writer.close()


def certificate_ms(renders: int = 20) -> float:
    lines = tuple(
        ServiceLine(f"崇明区志愿服务队{i}", "社区敬老院陪伴老人聊天、读报", 180 + i) for i in range(30)
    )
    data = CertificateData(
        certificate_no="ZM2026110000001", volunteer_name="张三丰", id_number_masked="310151********0012",
        volunteer_no="900000000001", period_start=FIRST_DAY, period_end=FIRST_DAY + timedelta(days=DAYS - 1),
        total_minutes=sum(line.minutes for line in lines), lines=lines,
        recording_units=(RecordingUnit("崇明区志愿者协会", "李队长", "021-59612345"),),
        issue_date=date(2026, 11, 22), verify_url="https://example.org/v/ZM2026110000001",
        issuer="崇明区志愿者协会",
    )  # fmt: skip
    render_certificate(data)  # font loading is once per process
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        render_certificate(data)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


async def _row_count(conn: Any, date_from: date, date_to: date) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM service_record WHERE service_date >= $1 AND service_date <= $2",
        date_from,
        date_to,
    )
    return count


async def _seeded(sizes: Sizes) -> bool:
    """Whether volunteer_bench exists and was seeded to completion with these sizes."""
    admin = await connect("postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            return False
    finally:
        await admin.close()
    conn = await connect(DATABASE)
    try:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", SEED_MARK):
            return False
        row = await conn.fetchrow(f"SELECT records, volunteers, organizations, sessions FROM {SEED_MARK}")
        return row is not None and tuple(row) == (
            sizes.records,
            sizes.volunteers,
            sizes.organizations,
            sizes.sessions,
        )
    finally:
        await conn.close()


async def _mark_seeded(conn: Any, sizes: Sizes) -> None:
    await conn.execute(
        f"CREATE TABLE {SEED_MARK} (records int, volunteers int, organizations int, sessions int)"
    )
    await conn.execute(
        f"INSERT INTO {SEED_MARK} VALUES ($1, $2, $3, $4)",
        sizes.records, sizes.volunteers, sizes.organizations, sizes.sessions,
    )  # fmt: skip


async def _seeded_district(conn: Any, sizes: Sizes) -> District:
    auditor = await conn.fetchval("SELECT account FROM role_grant WHERE role = 'auditor' LIMIT 1")
    streets = [
        r["code"] for r in await conn.fetch("SELECT code FROM region WHERE level = 'street' ORDER BY code")
    ]
    return District(auditor, streets, sizes.records)


async def main() -> dict[str, float | int]:
    sizes = Sizes(
        records=_env_int("BENCH_RECORDS", 1_000_000),
        volunteers=_env_int("BENCH_VOLUNTEERS", 100_000),
        organizations=_env_int("BENCH_ORGANIZATIONS", 200),
        sessions=_env_int("BENCH_SESSIONS", 2000),
    )
    queue_n, stats_n = _env_int("BENCH_QUEUE_REQUESTS", 200), _env_int("BENCH_STATS_REQUESTS", 50)
    secrets = generate_secrets()
    reuse = _env_int("BENCH_REUSE", 0) != 0 and await _seeded(sizes)
    url = database_url(DATABASE) if reuse else await fresh_database(DATABASE)
    print(f"{'reusing' if reuse else 'created'} {DATABASE}; migrating", flush=True)
    await migrate(url)
    if reuse:  # a migration that rewrites a column drops its statistics; seeding analyzes anyway
        conn = await connect(DATABASE)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    workdir = Path(tempfile.mkdtemp(prefix="volunteer_bench_"))
    # DATA_DIR: the embedded Redis of the app's job runtime keeps its files there, not in the repo's var/.
    env = {**secrets, "DATABASE_URL": url, "APP_ENV": "production", "DATA_DIR": str(workdir)}
    env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "")
    conn = await connect(DATABASE)
    figures: dict[str, float | int] = {}
    try:
        if reuse:
            district = await _seeded_district(conn, sizes)
        else:
            district = await seed_district(conn, sizes, datetime.now(UTC))
            await _mark_seeded(conn, sizes)
        indexes = _env_int("BENCH_INDEXES", 0) != 0
        for ddl in CANDIDATE_INDEXES if indexes else []:
            await conn.execute(ddl)
        if indexes:
            await conn.execute("ANALYZE service_record")
        token = mint_tokens(secrets["JWT_KEYS"], [district.auditor])[0]
        async with serve(FACTORY, env) as server:
            port = server.port
            p50, p95 = await _http_series(
                port,
                token,
                "/records/audit-queue",
                lambda i: _queue_query(district, i, False),
                queue_n,
                "queue",
            )
            b50, b95 = await _baseline_series(conn, district, queue_n, False, "queue baseline")
            f50, f95 = await _http_series(
                port,
                token,
                "/records/audit-queue",
                lambda i: _queue_query(district, i, True),
                queue_n,
                "queue flag",
            )
            bf50, bf95 = await _baseline_series(conn, district, queue_n, True, "queue flag baseline")
            s50, s95 = await _http_series(
                port, token, "/reports/statistics",
                lambda i: {"region_code": "310151", "month": MONTHS[i % len(MONTHS)]}, stats_n, "statistics",
            )  # fmt: skip
        figures |= {"records": district.records, "queue_p50_ms": p50, "queue_p95_ms": p95}
        figures |= {"baseline_queue_p50_ms": b50, "baseline_queue_p95_ms": b95}
        figures |= {"queue_ratio_to_baseline": round(p95 / b95, 2) if b95 else 0.0}
        figures |= {"queue_flag_p50_ms": f50, "queue_flag_p95_ms": f95}
        figures |= {"baseline_queue_flag_p50_ms": bf50, "baseline_queue_flag_p95_ms": bf95}
        figures |= {"stats_p50_ms": s50, "stats_p95_ms": s95}
        year_to = FIRST_DAY + timedelta(days=DAYS - 1)
        month_from, month_to = _month_range(6)
        small = await _export(env, token, month_from, month_to, "export one month")
        full = await _export(env, token, FIRST_DAY, year_to, "export full year")
        figures |= {
            "export_s": full["s"],
            "export_peak_mb": full["peak_mb"],
            "export_bytes": int(full["bytes"]),
        }
        figures |= {"export_rows": await _row_count(conn, FIRST_DAY, year_to)}
        figures |= {"export_rss_before_mb": full["rss_before_mb"], "export_s_small": small["s"]}
        figures |= {"export_timed_out": int(full["timed_out"]), "candidate_indexes": int(indexes)}
        figures |= {
            "export_peak_mb_small": small["peak_mb"],
            "export_rows_small": await _row_count(conn, month_from, month_to),
        }
    finally:
        await conn.close()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["certificate_ms"] = await asyncio.to_thread(certificate_ms)
    return figures
