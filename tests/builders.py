"""Small builders for test data: people, organizations and tokens, made the way the product makes them."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from httpx import AsyncClient, Response

from settings import Settings
from volunteer.identity import check_digit_mod11_2, uscc_check_char
from volunteer.passwords import hash_password
from volunteer.pii import PiiCipher
from volunteer.regions import import_regions, read_csv
from volunteer.tables import Account, Region, Role, RoleGrant
from volunteer.tokens import TokenKeys

DEMO_REGIONS = Path(__file__).resolve().parents[1] / "volunteer" / "data" / "demo_regions.csv"
DISTRICT = "310151"  # 崇明区
STREET = "310151101"  # 城桥镇
COMMUNITY = "310151101001"  # 城桥镇鳌山居委会
OTHER_STREET = "310151102"  # 堡镇
OTHER_COMMUNITY = "310151102001"

_seq = itertools.count(100)


def id_number(birth: date = date(1990, 3, 7), *, seq: int | None = None, prefix: str = "310151") -> str:
    """A valid 18-digit 居民身份证 number; odd sequence digits are male."""
    first17 = f"{prefix}{birth:%Y%m%d}{(next(_seq) if seq is None else seq) % 1000:03d}"
    return first17 + check_digit_mod11_2(first17)


def uscc(body: str = "5231015100000000") -> str:
    """A valid 统一社会信用代码 (民办非企业单位 in 崇明区 by default)."""
    first17 = (body + "0" * 17)[:17]
    return first17 + uscc_check_char(first17)


def phone() -> str:
    return f"139{next(_seq):08d}"


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "张小明",
        "id_type": "resident_id",
        "id_number": id_number(),
        "region_code": COMMUNITY,
        "phone": "13812345678",
        "skills": ["急救", "摄影"],
        "service_categories": ["community_service", "elderly_and_disabled"],
    }
    body.update(overrides)
    return body


class Clock:
    """The app's clock in tests: tests move it by setting now."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    """The test's view of one deployment: an HTTP client plus shortcuts to set up who is who."""

    def __init__(self, client: AsyncClient, settings: Settings, clock: Clock) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.keys = TokenKeys(settings.jwt_keys, timedelta(seconds=settings.access_token_ttl_s))
        self.pii = PiiCipher(settings.pii_key, settings.pii_hash_key)

    async def seed_regions(self) -> None:
        await import_regions(read_csv(DEMO_REGIONS))

    def headers(self, account_id: uuid.UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.issue_access(account_id, self.clock())}"}

    async def account(
        self,
        *grants: tuple[Role, uuid.UUID | None, str | None],
        name: str = "工作人员",
        phone: str | None = None,
        password: str | None = None,
    ) -> uuid.UUID:
        account = Account(display_name=name, created_at=self.clock())
        if phone is not None:
            account.phone_hash = self.pii.keyed_hash(phone, purpose="phone")
            account.phone_enc = self.pii.encrypt(phone, purpose="phone")
        if password is not None:
            account.password_hash = await hash_password(password)
        await account.save()
        for role, org_id, region_code in grants:
            region = await Region.objects().get(Region.code == region_code) if region_code else None
            await RoleGrant(
                account=account.id,
                role=role,
                organization=org_id,
                region=region.id if region else None,
                granted_at=self.clock(),
            ).save()
        return account.id

    async def staff_headers(
        self, role: Role, *, org: uuid.UUID | None = None, region: str | None = None
    ) -> dict[str, str]:
        return self.headers(await self.account((role, org, region)))

    async def admin(self) -> dict[str, str]:
        return await self.staff_headers(Role.admin)

    async def auditor(self, region: str = DISTRICT) -> dict[str, str]:
        return await self.staff_headers(Role.auditor, region=region)

    async def organization(
        self, *, verified: bool = True, region: str = COMMUNITY, name: str = "城桥镇鳌山社区志愿服务队"
    ) -> tuple[uuid.UUID, dict[str, str]]:
        """An organization registered through the API by its own admin (and verified by an auditor)."""
        admin = self.headers(await self.account(name="队长"))
        reply = await self.client.post(
            "/organizations",
            json={
                "name": name,
                "kind": "community_team",
                "region_code": region,
                "contact_name": "李队长",
                "contact_phone": "021-59612345",
            },
            headers=admin,
        )
        assert reply.status_code == 201, reply.text
        org_id = uuid.UUID(reply.json()["id"])
        if verified:
            decided = await self.client.post(
                f"/organizations/{org_id}/decision", json={"approve": True}, headers=await self.auditor()
            )
            assert decided.status_code == 201, decided.text
        return org_id, admin

    async def wechat_login(self, tag: str | None = None) -> dict[str, Any]:
        reply = await self.client.post("/auth/wechat", json={"code": f"ok-{tag or uuid.uuid4().hex}"})
        assert reply.status_code == 200, reply.text
        tokens: dict[str, Any] = reply.json()
        return tokens

    async def volunteer(self, **overrides: Any) -> tuple[dict[str, str], dict[str, Any]]:
        """A volunteer who signed in through WeChat and registered; returns their headers and profile."""
        tokens = await self.wechat_login()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        reply = await self.register(headers, **overrides)
        assert reply.status_code == 201, reply.text
        return headers, reply.json()

    async def register(self, headers: dict[str, str], **overrides: Any) -> Response:
        return await self.client.post("/volunteers/me", json=registration(**overrides), headers=headers)

    # --- projects and sign-ups ---

    def project_body(self, org_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
        """A draft project in 城桥镇鳌山居委会 with one two-hour session three days from now."""
        starts = self.clock() + timedelta(days=3)
        body: dict[str, Any] = {
            "organization_id": str(org_id),
            "title": "鳌山社区敬老院陪伴",
            "category": "elderly_and_disabled",
            "description": "陪伴老人聊天、读报",
            "region_code": COMMUNITY,
            "address": "上海市崇明区城桥镇鳌山路 1 号",
            "latitude": 31.6229,
            "longitude": 121.3970,
            "person_in_charge": "李队长",
            "contact_phone": "021-59612345",
            "headcount": 10,
            "sessions": [session_body(starts)],
        }
        body.update(overrides)
        return body

    async def project(
        self, org_id: uuid.UUID, admin_headers: dict[str, str], *, publish: bool = True, **overrides: Any
    ) -> dict[str, Any]:
        """A project created through the API (published unless publish=False); returns its JSON."""
        reply = await self.client.post(
            "/projects", json=self.project_body(org_id, **overrides), headers=admin_headers
        )
        assert reply.status_code == 201, reply.text
        if publish:
            reply = await self.client.post(f"/projects/{reply.json()['id']}/publish", headers=admin_headers)
            assert reply.status_code == 201, reply.text
        project: dict[str, Any] = reply.json()
        return project

    async def session(
        self,
        project_id: str,
        admin_headers: dict[str, str],
        starts_at: datetime | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Another session added to a project (default: a day after the clock, two hours, 10 places)."""
        body = session_body(starts_at or self.clock() + timedelta(days=1), **overrides)
        reply = await self.client.post(f"/projects/{project_id}/sessions", json=body, headers=admin_headers)
        assert reply.status_code == 201, reply.text
        session: dict[str, Any] = reply.json()
        return session

    async def signed_up(
        self,
        volunteer_headers: dict[str, str],
        session_id: str,
        admin_headers: dict[str, str],
        approve: bool = True,
    ) -> dict[str, Any]:
        """A sign-up through the API, approved by the organizer unless approve=False; returns its JSON."""
        reply = await self.client.post(f"/sessions/{session_id}/signups", headers=volunteer_headers)
        assert reply.status_code == 201, reply.text
        signup: dict[str, Any] = reply.json()
        if approve:
            decided = await self.client.post(
                f"/signups/{signup['id']}/decision", json={"approve": True}, headers=admin_headers
            )
            assert decided.status_code == 201, decided.text
            signup = decided.json()
        return signup


def session_body(
    starts_at: datetime, *, hours: float = 2, capacity: int = 10, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
        "capacity": capacity,
    }
    body.update(overrides)
    return body
