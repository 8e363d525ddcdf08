"""Who is calling and what they may reach: the principal and its scope predicates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from errors import FORBIDDEN, OUT_OF_SCOPE, DomainError
from volunteer.tables import Role


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    organization_id: uuid.UUID | None = None
    region_path: str | None = None  # "310151/310151101/": the subtree this grant covers


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: uuid.UUID
    grants: tuple[Grant, ...] = ()

    def has_role(self, *roles: Role) -> bool:
        return any(g.role in roles for g in self.grants)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.admin)

    def administers(self, organization_id: uuid.UUID) -> bool:
        return any(g.role is Role.org_admin and g.organization_id == organization_id for g in self.grants)

    def covers(self, role: Role, region_path: str) -> bool:
        """True when a grant of this role is scoped to a region containing region_path."""
        return any(
            g.role is role and g.region_path is not None and region_path.startswith(g.region_path)
            for g in self.grants
        )

    def regions(self, role: Role) -> list[str]:
        return [g.region_path for g in self.grants if g.role is role and g.region_path is not None]


def require_role(principal: Principal, *roles: Role) -> None:
    if not principal.has_role(*roles):
        raise DomainError(FORBIDDEN)


def require_org_admin(principal: Principal, organization_id: uuid.UUID) -> None:
    if not principal.administers(organization_id):
        raise DomainError(OUT_OF_SCOPE)


def require_auditor_of(principal: Principal, region_path: str) -> None:
    if not principal.covers(Role.auditor, region_path):
        raise DomainError(OUT_OF_SCOPE)
