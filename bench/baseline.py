"""Bare Litestar plus raw asyncpg doing the real endpoints' work: the ceiling the real service is held to.

POST /baseline/scans takes the same request as POST /scans (token, body, session code) and stores the
same scan row in one INSERT ... SELECT, without the rules' read.

It also answers on /volunteers/me, ignoring the token, so it can stand in for the real app
(BENCH_REAL_FACTORY=bench.baseline:create_baseline_app) when testing the benchmark itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import msgspec
from litestar import Litestar, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from errors import DomainError
from settings import load_settings
from volunteer.checkin_schemas import ScanIn, ScanOut
from volunteer.codes import CodeKind, CodeSigner
from volunteer.identity import IdType, mask_id_number, mask_phone, parse_id, volunteer_number
from volunteer.pii import PiiCipher
from volunteer.tokens import TokenKeys

DEFAULT_BODY_BYTES = 600
_NO_REGION = "no such region"

_INSERT = """
INSERT INTO volunteer (id, account, volunteer_no, name, gender, birth_date, id_type, id_number_enc,
    id_number_hash, id_number_masked, phone_enc, phone_masked, region, skills, service_categories,
    created_at, updated_at)
SELECT $1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, r.id, $12, $13, $14, $14
FROM region r WHERE r.code = $15
"""

# The columns of volunteer/scans.py _INSERT, volunteer and session resolved in the same statement.
_SCAN_INSERT = """
INSERT INTO scan (id, scanned_by, nonce, body_hash, session, volunteer, kind, method, offline, accepted,
  refusal, code_window, device_time, server_time, effective_time, latitude, longitude, device_id, flags)
SELECT $1::uuid, $2::uuid, $3::text, $4::text, s.id, v.id, $5::text, 'volunteer_scans_session', false, true,
  NULL, $6::bigint, $7::timestamptz, $8::timestamptz, $8::timestamptz, $9::float8, $10::float8, $11::text,
  '[]'::json
FROM volunteer v JOIN service_session s ON s.code_seq = $12::bigint WHERE v.account = $2::uuid
ON CONFLICT DO NOTHING RETURNING session, volunteer
"""


class RegisterIn(msgspec.Struct):
    name: str
    id_type: str
    id_number: str
    region_code: str
    phone: str
    skills: list[str] = msgspec.field(default_factory=list)
    service_categories: list[str] = msgspec.field(default_factory=list)


def profile_body(size: int) -> bytes:
    """A profile-shaped JSON object padded to exactly `size` bytes, the size of a real response."""
    shape = {
        "id": str(uuid.UUID(int=1)),
        "volunteer_no": "100000000001",
        "name": "张三",
        "gender": "male",
        "birth_date": "1990-01-01",
        "id_type": "resident_id",
        "id_number": "3101****0012",
        "phone": "138****0000",
        "region": {"code": "310151101001", "name": "城桥镇某居委"},
        "skills": ["急救"],
        "service_categories": ["community_service"],
        "created_at": "2026-11-22T00:00:00Z",
        "pad": "",
    }
    missing = size - len(msgspec.json.encode(shape))
    shape["pad"] = "x" * max(0, missing)
    return msgspec.json.encode(shape)


def _key(name: str) -> bytes:
    raw = os.environ.get(name)
    return base64.urlsafe_b64decode(raw.encode()) if raw else secrets.token_bytes(32)


@get(["/baseline/profile", "/volunteers/me"], media_type=MediaType.JSON, sync_to_thread=False)
def profile(state: State) -> bytes:
    body: bytes = state.profile_body
    return body


@post(["/baseline/register", "/volunteers/me"], status_code=201)
async def register(data: RegisterIn, state: State) -> dict[str, str]:
    cipher: PiiCipher = state.cipher
    parsed = parse_id(IdType(data.id_type), data.id_number, today=datetime.now(UTC).date())
    now = datetime.now(UTC)
    volunteer_id = uuid.uuid4()
    number = volunteer_number()
    row: Any = await state.pool.fetchrow(
        _INSERT + " RETURNING id",
        volunteer_id,
        number,
        data.name,
        parsed.gender,
        parsed.birth_date,
        parsed.id_type.value,
        cipher.encrypt(parsed.number, purpose="id_number"),
        cipher.keyed_hash(parsed.number, purpose="id_number"),
        mask_id_number(parsed.number),
        cipher.encrypt(data.phone, purpose="phone"),
        mask_phone(data.phone),
        msgspec.json.encode(data.skills).decode(),
        msgspec.json.encode(data.service_categories).decode(),
        now,
        data.region_code,
    )
    if row is None:
        raise HTTPException(status_code=422, detail=_NO_REGION)
    return {"id": str(volunteer_id), "volunteer_no": number}


@post("/baseline/scans", status_code=201)
async def scan(data: ScanIn, request: Request[Any, Any, Any], state: State) -> ScanOut:
    if state.scan_keys is None:
        raise HTTPException(status_code=500, detail="JWT_KEYS, PII_KEY and PII_HASH_KEY must be set")
    keys, signer = cast(tuple[TokenKeys, CodeSigner], state.scan_keys)
    now = datetime.now(UTC)
    try:
        account = keys.verify_access(request.headers.get("authorization", "").partition(" ")[2], now)
        claims = signer.verify(data.code, now)
    except DomainError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.error.code) from exc
    if claims.kind is not CodeKind.SESSION:
        raise HTTPException(status_code=422, detail="not a session code")
    scan_id = uuid.uuid4()
    row: Any = await state.pool.fetchrow(
        _SCAN_INSERT,
        scan_id,
        account,
        data.nonce,
        hashlib.sha256(msgspec.json.encode(data)).hexdigest(),
        data.kind,
        claims.window,
        data.device_time,
        now,
        data.latitude,
        data.longitude,
        data.device_id,
        claims.subject,
    )
    if row is None:
        raise HTTPException(status_code=409, detail="already checked in, or no such volunteer or session")
    return ScanOut(scan_id, data.nonce, True, data.kind, row["session"], row["volunteer"], now, [], False)


def _scan_keys() -> tuple[TokenKeys, CodeSigner] | None:
    """The server's own token and code keys, when the benchmark passed its secrets."""
    if not all(os.environ.get(name) for name in ("JWT_KEYS", "PII_KEY", "PII_HASH_KEY")):
        return None
    settings = load_settings(os.environ)
    keys = TokenKeys(settings.jwt_keys, timedelta(seconds=settings.access_token_ttl_s))
    return keys, CodeSigner(settings.code_key, window_s=settings.code_window_s)


@asynccontextmanager
async def _database(app: Litestar) -> AsyncIterator[None]:
    """The pool only exists when DATABASE_URL is set: the profile baseline needs no database."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield
        return
    app.state.pool = await asyncpg.create_pool(url, min_size=2, max_size=20)
    try:
        yield
    finally:
        await app.state.pool.close()


def create_baseline_app() -> Litestar:
    size = int(os.environ.get("BASELINE_BODY_BYTES") or DEFAULT_BODY_BYTES)
    state = State(
        {
            "profile_body": profile_body(size),
            "cipher": PiiCipher(_key("PII_KEY"), _key("PII_HASH_KEY")),
            "scan_keys": _scan_keys(),
        }
    )
    return Litestar(
        route_handlers=[profile, register, scan], lifespan=[_database], state=state, openapi_config=None
    )
