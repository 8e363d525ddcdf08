"""What controllers are handed per request, each marked as a named dependency (required by Litestar 3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from volunteer.access import Principal
from volunteer.accounts import AuthContext
from volunteer.api.security import principal_of
from volunteer.checkin import Scanner
from volunteer.pii import PiiCipher
from volunteer.qr import QrCache
from volunteer.record_rules import RecordRules
from volunteer.registration import Policy
from volunteer.wechat import WeChatClient

CurrentPrincipal = NamedDependency[Principal]
Viewer = NamedDependency[Principal | None]
Now = NamedDependency[datetime]
Today = NamedDependency[date]
Pii = NamedDependency[PiiCipher]
Auth = NamedDependency[AuthContext]
WeChat = NamedDependency[WeChatClient]
RegistrationPolicy = NamedDependency[Policy]
ScanRules = NamedDependency[Scanner]
QrImages = NamedDependency[QrCache]
Rules = NamedDependency[RecordRules]


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_of(request)


def provide_viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """For public endpoints that show more to some callers (an auditor, an organization's admin)."""
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None
