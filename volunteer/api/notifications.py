"""Notifications for the signed-in person: theirs, their organizations' and their jurisdiction's."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK

import errors
from volunteer import notifications
from volunteer.api.deps import CurrentPrincipal, Now
from volunteer.api.security import BEARER, signed_in
from volunteer.api.security import errors as documented
from volunteer.manual_schemas import NotificationOut
from volunteer.notifications import Note

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]


def note_out(n: Note) -> NotificationOut:
    return NotificationOut(
        n.id, n.kind, n.title, n.body, n.detail, n.organization_id, n.created_at, n.read_at
    )


class NotificationController(Controller):
    path = "/notifications"
    tags = ["通知"]
    security = BEARER

    @get(
        "/",
        guards=[signed_in],
        summary="我的通知",
        description=(
            "发给本人的通知、发给本人所管理组织的通知（如记录确认提醒），以及审核员辖区内的通知"
            "（如逾期未确认的升级提醒），按时间倒序。"
        ),
        responses=documented(),
    )
    async def index(
        self,
        principal: CurrentPrincipal,
        unread: Annotated[bool, QueryParameter(description="true 只看未读")] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[NotificationOut]:
        notes = await notifications.visible(principal, unread=unread, limit=limit, offset=offset)
        return [note_out(n) for n in notes]

    @post(
        "/{notification_id:uuid}/read",
        guards=[signed_in],
        status_code=HTTP_200_OK,
        summary="标记通知已读",
        responses=documented(errors.NOTIFICATION_NOT_FOUND),
    )
    async def read(
        self, notification_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> NotificationOut:
        return note_out(await notifications.mark_read(principal, notification_id, now))
