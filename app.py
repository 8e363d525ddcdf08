"""The Litestar application: routes, authentication, error rendering, OpenAPI and lifespan."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from redis.asyncio import Redis

import errors
from errors import DomainError
from jobs.runtime import job_runtime
from settings import Settings, load_settings
from volunteer.accounts import AuthContext
from volunteer.api.admin import AdminController
from volunteer.api.audit_log import AuditLogController
from volunteer.api.auth import AuthController
from volunteer.api.certificates import CertificateController
from volunteer.api.checkin import CheckinController
from volunteer.api.corrections import CorrectionController, CorrectionRequestController
from volunteer.api.deps import provide_principal, provide_viewer
from volunteer.api.manual_entries import ManualEntryController
from volunteer.api.notifications import NotificationController
from volunteer.api.organizations import InviteController, OrganizationController
from volunteer.api.projects import MySignupController, ProjectController, SessionController, SignupController
from volunteer.api.records import RecordController
from volunteer.api.regions import RegionController
from volunteer.api.reports import PublishedReportController, ReportController
from volunteer.api.security import anyone, bearer_middleware
from volunteer.api.security import errors as errors_doc
from volunteer.api.star_levels import StarLevelController
from volunteer.api.volunteers import VolunteerController
from volunteer.checkin import CheckinPolicy, Scanner
from volunteer.codes import CodeSigner
from volunteer.db import close_database, engine, open_database, run_with_database
from volunteer.hours import CHINA
from volunteer.pii import PiiCipher
from volunteer.qr import QrCache
from volunteer.record_rules import RecordRules
from volunteer.registration import Policy
from volunteer.schemas import Error
from volunteer.tokens import TokenKeys
from volunteer.wechat import WeChatClient

log = logging.getLogger("volunteer.app")


def utc_now() -> datetime:
    return datetime.now(UTC)


@get(
    "/health",
    guards=[anyone],
    summary="健康检查",
    description="检查数据库和 Redis 是否可用：redis 为 ok（REDIS_URL）、embedded（内嵌）或 not_configured。",
    tags=["系统"],
    responses=errors_doc(errors.SERVICE_UNAVAILABLE, auth=False),
)
async def health(state: State) -> dict[str, str]:
    checks = {"database": "ok", "redis": "not_configured"}
    try:
        await engine().run_ddl("SELECT 1")
    except Exception as exc:
        raise DomainError(errors.SERVICE_UNAVAILABLE, {"failed": "database"}) from exc
    # REDIS_URL's server, else the embedded one the app started for its jobs (none in some tests).
    redis, answer = (
        (state.get("redis"), "ok") if state.get("redis") is not None else (state.get("arq"), "embedded")
    )
    if redis is not None:
        try:
            await redis.ping()
        except Exception as exc:
            raise DomainError(errors.SERVICE_UNAVAILABLE, {"failed": "redis"}) from exc
        checks["redis"] = answer
    return {"status": "ok", **checks}


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    http_transport: httpx.AsyncBaseTransport | None = None,
    background_jobs: bool = True,
) -> Litestar:
    """Build the app; tests pass their own settings, clock and HTTP transport, and may leave the jobs
    (an arq pool, and without REDIS_URL an embedded Redis and worker) to the tests that run them."""
    settings = settings or load_settings()
    quiet_loggers_that_print_arguments()
    keys = TokenKeys(settings.jwt_keys, timedelta(seconds=settings.access_token_ttl_s))
    pii = PiiCipher(settings.pii_key, settings.pii_hash_key)
    auth_ctx = AuthContext(keys, timedelta(seconds=settings.refresh_token_ttl_s), pii)
    policy = Policy(min_age=settings.min_volunteer_age, adult_age=settings.adult_age)
    scanner = Scanner(
        CodeSigner(settings.code_key, window_s=settings.code_window_s),
        CheckinPolicy(
            grace=timedelta(minutes=settings.checkin_grace_min),
            device_skew=timedelta(seconds=settings.device_skew_s),
            attempts_per_min=settings.scan_attempts_per_min,
            late_upload=timedelta(seconds=settings.late_upload_s),
            no_show_limit=settings.no_show_limit,
        ),
    )
    wechat_holder: dict[str, WeChatClient] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Unwinds in reverse: the worker stops before the database it uses closes.
        async with AsyncExitStack() as stack:
            await open_database()
            stack.push_async_callback(close_database)
            app.state.redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
            if app.state.redis is not None:
                stack.push_async_callback(app.state.redis.aclose)
            http = await stack.enter_async_context(httpx.AsyncClient(transport=http_transport))
            wechat_holder["client"] = WeChatClient(
                http,
                settings.wechat_jscode2session_url,
                settings.wechat_appid,
                settings.wechat_secret,
                settings.wechat_timeout_s,
            )
            if background_jobs:
                app.state.arq = await stack.enter_async_context(
                    job_runtime(
                        settings.redis_url, data_dir=settings.local_dir, clock=clock, settings=settings
                    )
                )
            yield

    def constant(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    return Litestar(
        route_handlers=[
            health,
            AuthController,
            AdminController,
            RegionController,
            OrganizationController,
            InviteController,
            VolunteerController,
            CheckinController,
            ProjectController,
            SessionController,
            SignupController,
            MySignupController,
            AuditLogController,
            RecordController,
            CorrectionController,
            CorrectionRequestController,
            ManualEntryController,
            NotificationController,
            ReportController,
            PublishedReportController,
            CertificateController,
            StarLevelController,
        ],
        lifespan=[lifespan],
        middleware=[DefineMiddleware(bearer_middleware(keys, clock))],
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
            "viewer": Provide(provide_viewer, sync_to_thread=False),
            "now": Provide(clock, sync_to_thread=False),
            "today": Provide(lambda: clock().astimezone(CHINA).date(), sync_to_thread=False),
            "pii": constant(pii),
            "auth_ctx": constant(auth_ctx),
            "policy": constant(policy),
            "scanner": constant(scanner),
            "qr": constant(QrCache()),
            "rules": constant(RecordRules.from_settings(settings)),
            "wechat": Provide(lambda: wechat_holder["client"], sync_to_thread=False),
        },
        exception_handlers={Exception: render_error},
        openapi_config=openapi_config(),
        signature_namespace={"date": date, "datetime": datetime, "State": State},
        debug=False,
    )


def quiet_loggers_that_print_arguments() -> None:
    """aiosqlite logs SQL parameters at DEBUG and httpx logs URLs (WeChat's carry the app secret and the
    login code) at INFO: neither may reach a log, whatever level an operator sets."""
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)


def render_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Error]:
    """Every failure leaves as {code, message, detail}; an unexpected one is logged without its message."""
    if isinstance(exc, DomainError):
        return _reply(exc.error.code, exc.message, exc.status, exc.detail)
    if isinstance(exc, ValidationException):
        return _reply(errors.REQUEST_INVALID.code, errors.REQUEST_INVALID.message, 400, exc.extra)
    if isinstance(exc, HTTPException):
        entry = {
            404: errors.NOT_FOUND,
            405: errors.METHOD_NOT_ALLOWED,
            413: errors.REQUEST_TOO_LARGE,
            503: errors.SERVICE_UNAVAILABLE,
        }.get(exc.status_code)
        if entry is None and exc.status_code == 400 and "malformed" in str(exc.detail).lower():
            entry = errors.REQUEST_MALFORMED
        if entry is None:
            entry = errors.REQUEST_INVALID if exc.status_code < 500 else errors.INTERNAL_ERROR
        return _reply(entry.code, entry.message, entry.status, None)
    # The exception's message may quote personal data (a SQL value, say): log only its type and where.
    log.error(
        "unhandled %s on %s %s\n%s",
        type(exc).__name__,
        request.method,
        request.scope.get("path_template", request.url.path),
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    return _reply(errors.INTERNAL_ERROR.code, errors.INTERNAL_ERROR.message, 500, None)


def _reply(code: str, message: str, status: int, detail: Any) -> Response[Error]:
    return Response(Error(code=code, message=message, detail=detail), status_code=status)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="志愿服务与激励积分 API",
        version="0.1.0",
        description=(
            "志愿者实名注册、扫码签到、服务时长审核与七位一体激励台账的后端接口。\n\n"
            "除公开接口外，请求须携带 `Authorization: Bearer <access_token>`。"
            "所有错误均以 `{code, message, detail}` 返回，`code` 稳定可供程序判断，`message` 为中文说明。\n\n"
            "## 错误码\n\n" + errors.error_catalog_markdown()
        ),
        path="/schema",
        render_plugins=[ScalarRenderPlugin(path="/"), SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )


def main() -> None:
    """One command on a laptop: migrate, seed a demo district on first start, serve on 127.0.0.1:8000."""
    import os

    import uvicorn

    from volunteer.seed import seed_demo
    from volunteer.setup import migrate

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()

    async def prepare() -> None:
        await migrate(settings.database_url)
        if not settings.production:
            logins = await seed_demo(PiiCipher(settings.pii_key, settings.pii_hash_key), utc_now())
            if logins:
                print("\n已创建演示数据（上海市崇明区）。演示账号（POST /auth/login）：")
                for login in logins:
                    print(f"  {login.who:<36} 手机号 {login.phone}  密码 {login.password}")

    run_with_database(prepare)
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))
    print(
        f"\n接口文档：http://{host}:{port}/schema/ （Scalar）"
        f"  http://{host}:{port}/schema/swagger （Swagger）\n"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()
