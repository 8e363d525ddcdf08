"""Rule 21: the audit log is a hash chain, and verification finds exactly the entry that was changed."""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.builders import DISTRICT, OTHER_STREET, STREET, World
from volunteer import audit_log
from volunteer.audit_log import GENESIS, BreakReason, Entry
from volunteer.db import write_transaction
from volunteer.hours import CHINA
from volunteer.tables import AuditEntry, Region, Role


async def logged(world: World, *, region_path: str | None = None, n: int = 0) -> Entry:
    """One confirmation, appended in its own transaction the way a service appends it."""
    async with write_transaction():
        return await audit_log.append(
            "record.confirm",
            actor=None,
            subject_type="service_record",
            subject_id=str(uuid.uuid4()),
            detail={"minutes": 120 + n, "reason": "核实无误"},
            region_path=region_path,
            now=world.clock() + timedelta(seconds=n),
        )


async def chain(world: World, count: int) -> list[Entry]:
    return [await logged(world, n=n) for n in range(count)]


async def path_of(code: str) -> str:
    region = await Region.objects().get(Region.code == code)
    assert region is not None
    return region.path


async def tamper(sql: str, *args: object) -> None:
    """A change made straight in the database, behind the application's back."""
    await AuditEntry.raw(sql, *args)


async def test_fifty_appends_some_concurrent_form_one_continuous_chain(world: World) -> None:
    first = await chain(world, 20)

    async def one(n: int) -> Entry:
        async with write_transaction():
            return await audit_log.append(
                "reward.grant",
                actor=None,
                subject_type="reward",
                subject_id=f"r{n}",
                detail={"points": n},
                region_path=None,
                now=(world.clock() + timedelta(minutes=n)).astimezone(CHINA),
            )

    rest = await asyncio.gather(*(one(n) for n in range(30)))
    entries = sorted([*first, *rest], key=lambda e: e.seq)
    assert [e.seq for e in entries] == list(range(1, 51))
    assert entries[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    for batch in (5000, 7):
        report = await audit_log.verify_chain(batch=batch)
        assert report.ok and report.checked == 50 and report.broken is None
        assert report.head_hash == entries[-1].hash


async def test_an_empty_log_verifies(world: World) -> None:
    report = await audit_log.verify_chain()
    assert report.ok and report.checked == 0 and report.head_hash == GENESIS


async def test_changing_a_stored_entry_is_found_at_exactly_that_entry(world: World) -> None:
    entries = await chain(world, 30)
    await tamper(
        "UPDATE audit_entry SET detail = {} WHERE seq = 17", '{"minutes": 999, "reason": "核实无误"}'
    )
    for batch in (5000, 5):
        report = await audit_log.verify_chain(batch=batch)
        assert not report.ok and report.checked == 17
        assert report.broken == audit_log.Broken(17, entries[16].id, BreakReason.hash_mismatch)
        assert report.head_hash == entries[15].hash


async def test_changing_the_time_or_actor_of_an_entry_is_found(world: World) -> None:
    entries = await chain(world, 5)
    await tamper("UPDATE audit_entry SET at = {} WHERE seq = 2", entries[1].at + timedelta(microseconds=1))
    report = await audit_log.verify_chain()
    assert report.broken == audit_log.Broken(2, entries[1].id, BreakReason.hash_mismatch)


async def test_a_value_that_no_longer_parses_is_found_too(world: World) -> None:
    entries = await chain(world, 3)
    if AuditEntry._meta.db.engine_type == "postgres":
        pytest.skip("PostgreSQL's json and timestamptz columns refuse such a value")
    await tamper("UPDATE audit_entry SET detail = {} WHERE seq = 2", "{not json")
    report = await audit_log.verify_chain()
    assert report.broken == audit_log.Broken(2, entries[1].id, BreakReason.hash_mismatch)


async def test_deleting_an_entry_is_found_at_the_next_one(world: World) -> None:
    entries = await chain(world, 20)
    await tamper("DELETE FROM audit_entry WHERE seq = 10")
    report = await audit_log.verify_chain(batch=4)
    assert report.broken == audit_log.Broken(11, entries[10].id, BreakReason.missing_seq)


async def test_rewriting_an_entry_with_a_fresh_hash_breaks_the_link_to_the_next(world: World) -> None:
    entries = await chain(world, 20)
    forged = replace(entries[11], detail={"minutes": 600, "reason": "核实无误"})
    await tamper(
        "UPDATE audit_entry SET detail = {}, hash = {} WHERE seq = 12",
        '{"minutes": 600, "reason": "核实无误"}',
        audit_log.entry_hash(forged),
    )
    report = await audit_log.verify_chain()
    assert report.broken == audit_log.Broken(13, entries[12].id, BreakReason.broken_link)


async def test_an_append_in_a_rolled_back_transaction_leaves_no_entry(world: World) -> None:
    await logged(world)
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await audit_log.append(
                "record.audit",
                actor=None,
                subject_type="service_record",
                subject_id="x",
                detail={},
                region_path=None,
                now=world.clock(),
            )
            raise RuntimeError("the audited action failed")
    assert await AuditEntry.count() == 1
    assert (await logged(world)).seq == 2
    assert (await audit_log.verify_chain()).ok


async def test_an_append_outside_a_transaction_is_refused(world: World) -> None:
    with pytest.raises(AssertionError, match="write_transaction"):
        await audit_log.append(
            "record.audit",
            actor=None,
            subject_type="service_record",
            subject_id="x",
            detail={},
            region_path=None,
            now=world.clock(),
        )
    assert await AuditEntry.count() == 0


async def test_volunteers_and_organization_admins_may_not_read_the_log(world: World) -> None:
    volunteer, _ = await world.volunteer()
    _, org_admin = await world.organization()
    for headers in (volunteer, org_admin):
        for path in ("/audit-log", "/audit-log/verify"):
            reply = await world.client.get(path, headers=headers)
            assert reply.status_code == 403 and reply.json()["code"] == "FORBIDDEN", reply.text


async def test_an_auditor_sees_only_entries_in_their_jurisdiction(world: World) -> None:
    inside = await logged(world, region_path=await path_of("310151101001"), n=1)
    street = await logged(world, region_path=await path_of(STREET), n=2)
    elsewhere = await logged(world, region_path=await path_of(OTHER_STREET), n=3)
    platform = await logged(world, region_path=None, n=4)

    reply = await world.client.get("/audit-log", headers=await world.auditor(STREET))
    assert reply.status_code == 200, reply.text
    assert [e["seq"] for e in reply.json()] == [street.seq, inside.seq]
    shown = reply.json()[1]
    assert shown["prev_hash"] == inside.prev_hash and shown["hash"] == inside.hash
    assert shown["detail"] == inside.detail and shown["id"] == str(inside.id)

    district = await world.client.get("/audit-log", headers=await world.auditor(DISTRICT))
    assert [e["seq"] for e in district.json()] == [elsewhere.seq, street.seq, inside.seq]
    admin = await world.admin()
    everything = await world.client.get("/audit-log", headers=admin)
    assert [e["seq"] for e in everything.json()] == [platform.seq, elsewhere.seq, street.seq, inside.seq]
    page = await world.client.get("/audit-log", params={"limit": 2, "offset": 1}, headers=admin)
    assert [e["seq"] for e in page.json()] == [elsewhere.seq, street.seq]


async def test_an_auditor_verifies_the_chain_through_the_api(world: World) -> None:
    entries = await chain(world, 6)
    auditor = await world.staff_headers(Role.auditor, region=STREET)
    reply = await world.client.get("/audit-log/verify", headers=auditor)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"ok": True, "checked": 6, "broken": None, "head_hash": entries[-1].hash}
    await tamper("UPDATE audit_entry SET subject_id = {} WHERE seq = 4", "someone-else")
    broken = (await world.client.get("/audit-log/verify", headers=await world.admin())).json()
    assert broken["ok"] is False and broken["checked"] == 4
    assert broken["broken"] == {"seq": 4, "id": str(entries[3].id), "reason": "hash_mismatch"}


async def test_the_cli_reports_the_changed_entry_and_exits_1(world: World) -> None:
    await chain(world, 5)

    async def cli() -> tuple[int, str]:
        # The child reads the same DATABASE_URL from the environment conftest set.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "volunteer",
            "verify-audit-log",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode() + err.decode()

    assert await cli() == (0, "审计日志完整：共 5 条\n")
    await tamper("UPDATE audit_entry SET action = {} WHERE seq = 3", "record.reject")
    code, output = await cli()
    assert code == 1 and "审计日志在第 3 条被改动（hash_mismatch" in output, output
