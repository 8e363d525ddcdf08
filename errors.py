"""Every error code the API can answer with, listed once: machine code, HTTP status, Chinese message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    message: str


CATALOG: dict[str, ErrorCode] = {}


def _code(code: str, status: int, message: str) -> ErrorCode:
    assert code not in CATALOG, code
    CATALOG[code] = entry = ErrorCode(code, status, message)
    return entry


class DomainError(Exception):
    """The one error base: services raise it, the app renders it as {code, message, detail}."""

    def __init__(self, error: ErrorCode, detail: Any = None, *, message: str | None = None) -> None:
        super().__init__(error.code)
        self.error = error
        self.detail = detail
        self.message = message or error.message

    @property
    def status(self) -> int:
        return self.error.status


# Request shape (raised by the framework layer, rendered by app.py)
REQUEST_MALFORMED = _code("REQUEST_MALFORMED", 400, "请求体不是有效的 JSON")
REQUEST_INVALID = _code("REQUEST_INVALID", 400, "请求参数不符合要求")
REQUEST_TOO_LARGE = _code("REQUEST_TOO_LARGE", 413, "请求体过大")
NOT_FOUND = _code("NOT_FOUND", 404, "请求的资源不存在")
METHOD_NOT_ALLOWED = _code("METHOD_NOT_ALLOWED", 405, "不支持该请求方法")
INTERNAL_ERROR = _code("INTERNAL_ERROR", 500, "服务器内部错误，请稍后重试")
SERVICE_UNAVAILABLE = _code("SERVICE_UNAVAILABLE", 503, "服务暂时不可用，请稍后重试")

# Authentication and authorization
TOKEN_MISSING = _code("TOKEN_MISSING", 401, "请先登录")
TOKEN_INVALID = _code("TOKEN_INVALID", 401, "登录凭证无效，请重新登录")
TOKEN_EXPIRED = _code("TOKEN_EXPIRED", 401, "登录已过期，请重新登录")
TOKEN_REVOKED = _code("TOKEN_REVOKED", 401, "登录状态已失效，请重新登录")
REFRESH_TOKEN_INVALID = _code("REFRESH_TOKEN_INVALID", 401, "刷新凭证无效，请重新登录")
REFRESH_TOKEN_REUSED = _code(
    "REFRESH_TOKEN_REUSED", 401, "刷新凭证已被使用，为保护账号安全已退出所有登录，请重新登录"
)
LOGIN_FAILED = _code("LOGIN_FAILED", 401, "手机号或密码错误")
ACCOUNT_DISABLED = _code("ACCOUNT_DISABLED", 403, "账号已停用，请联系管理员")
PASSWORD_TOO_WEAK = _code("PASSWORD_TOO_WEAK", 422, "密码至少 10 位，且需同时包含字母和数字")
FORBIDDEN = _code("FORBIDDEN", 403, "无权执行此操作")
OUT_OF_SCOPE = _code("OUT_OF_SCOPE", 403, "超出您的管理范围")

# WeChat login upstream
WECHAT_CODE_INVALID = _code("WECHAT_CODE_INVALID", 401, "微信登录凭证无效或已使用，请重新进入小程序")
WECHAT_RATE_LIMITED = _code("WECHAT_RATE_LIMITED", 429, "微信登录过于频繁，请稍后再试")
WECHAT_UNAVAILABLE = _code("WECHAT_UNAVAILABLE", 503, "微信登录服务暂时不可用，请稍后重试")

# Staff accounts and roles
ACCOUNT_NOT_FOUND = _code("ACCOUNT_NOT_FOUND", 404, "账号不存在")
PHONE_ALREADY_USED = _code("PHONE_ALREADY_USED", 409, "该手机号已被其他账号使用")
PHONE_INVALID = _code("PHONE_INVALID", 422, "手机号格式不正确")
ROLE_SCOPE_INVALID = _code("ROLE_SCOPE_INVALID", 422, "角色的管理范围不正确")
ROLE_ALREADY_GRANTED = _code("ROLE_ALREADY_GRANTED", 409, "该账号已拥有此角色")
ROLE_GRANT_NOT_FOUND = _code("ROLE_GRANT_NOT_FOUND", 404, "角色授权不存在或已撤销")

# Regions
REGION_NOT_FOUND = _code("REGION_NOT_FOUND", 404, "行政区划不存在")
REGION_CODE_INVALID = _code("REGION_CODE_INVALID", 422, "行政区划代码不正确")
REGION_IMPORT_INVALID = _code("REGION_IMPORT_INVALID", 422, "行政区划文件格式不正确")

# Organizations
ORGANIZATION_NOT_FOUND = _code("ORGANIZATION_NOT_FOUND", 404, "组织不存在")
ORGANIZATION_NOT_VERIFIED = _code("ORGANIZATION_NOT_VERIFIED", 409, "该组织尚未通过审核")
ORGANIZATION_ALREADY_DECIDED = _code("ORGANIZATION_ALREADY_DECIDED", 409, "该组织已审核，不能重复操作")
USCC_INVALID = _code("USCC_INVALID", 422, "统一社会信用代码不正确")
USCC_REQUIRED = _code("USCC_REQUIRED", 422, "已登记的组织须填写统一社会信用代码")
USCC_ALREADY_REGISTERED = _code("USCC_ALREADY_REGISTERED", 409, "该统一社会信用代码已注册")
PARENT_ORGANIZATION_INVALID = _code("PARENT_ORGANIZATION_INVALID", 422, "上级组织不正确")
REASON_REQUIRED = _code("REASON_REQUIRED", 422, "请填写原因")
INVITE_NOT_FOUND = _code("INVITE_NOT_FOUND", 404, "邀请不存在或已处理")
ALREADY_ADMIN = _code("ALREADY_ADMIN", 409, "该账号已是本组织管理员")
LAST_ADMIN = _code("LAST_ADMIN", 409, "组织至少需要保留一名管理员")
MEMBERSHIP_EXISTS = _code("MEMBERSHIP_EXISTS", 409, "已申请或已加入该组织")
MEMBERSHIP_NOT_FOUND = _code("MEMBERSHIP_NOT_FOUND", 404, "入队申请不存在或已处理")

# Volunteer registration
VOLUNTEER_NOT_REGISTERED = _code(
    "VOLUNTEER_NOT_REGISTERED", 404, "您还未完成志愿者实名注册，请在小程序“我的”中完成注册"
)
VOLUNTEER_NOT_FOUND = _code("VOLUNTEER_NOT_FOUND", 404, "志愿者不存在")
VOLUNTEER_ALREADY_REGISTERED = _code("VOLUNTEER_ALREADY_REGISTERED", 409, "该证件号码已注册为志愿者")
ACCOUNT_ALREADY_REGISTERED = _code("ACCOUNT_ALREADY_REGISTERED", 409, "当前账号已完成志愿者注册")
ID_NUMBER_INVALID = _code("ID_NUMBER_INVALID", 422, "证件号码格式不正确")
ID_CHECK_DIGIT_INVALID = _code("ID_CHECK_DIGIT_INVALID", 422, "身份证号码校验位不正确，请核对")
ID_BIRTH_DATE_INVALID = _code("ID_BIRTH_DATE_INVALID", 422, "身份证号码中的出生日期不正确")
ID_REGION_INVALID = _code("ID_REGION_INVALID", 422, "身份证号码中的地区代码不正确")
BIRTH_DATE_REQUIRED = _code("BIRTH_DATE_REQUIRED", 422, "请填写出生日期和性别")
UNDER_MINIMUM_AGE = _code("UNDER_MINIMUM_AGE", 422, "未达到志愿者注册的最低年龄")
GUARDIAN_CONSENT_REQUIRED = _code("GUARDIAN_CONSENT_REQUIRED", 422, "未满18周岁须由监护人同意后注册")
CONSENT_REQUIRED = _code("CONSENT_REQUIRED", 422, "代为登记须记录本人同意")


def error_catalog_markdown() -> str:
    """The code table for the OpenAPI description, so clients see every code in one place."""
    rows = [f"| `{e.code}` | {e.status} | {e.message} |" for e in CATALOG.values()]
    return "\n".join(["| code | HTTP | message |", "| --- | --- | --- |", *rows])
