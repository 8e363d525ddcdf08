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


def require_text(text: str | None, error: ErrorCode) -> str:
    """The text without edge spaces; missing or blank raises `error` (REASON_REQUIRED and the like)."""
    stripped = (text or "").strip()
    if not stripped:
        raise DomainError(error)
    return stripped


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

# Projects and sessions
PROJECT_NOT_FOUND = _code("PROJECT_NOT_FOUND", 404, "项目不存在")
SESSION_NOT_FOUND = _code("SESSION_NOT_FOUND", 404, "活动时段不存在")
PROJECT_NOT_EDITABLE = _code("PROJECT_NOT_EDITABLE", 409, "项目当前状态不允许此操作")
SESSION_TIME_INVALID = _code("SESSION_TIME_INVALID", 422, "活动时段的开始和结束时间不正确")
INSURANCE_REQUIRED = _code("INSURANCE_REQUIRED", 409, "该项目有风险，须先为志愿者投保才能开放报名")
GEOFENCE_NEEDS_LOCATION = _code("GEOFENCE_NEEDS_LOCATION", 422, "设置签到范围须同时提供活动地点坐标")

# Sign-ups
SIGNUP_NOT_FOUND = _code("SIGNUP_NOT_FOUND", 404, "报名记录不存在")
ALREADY_SIGNED_UP = _code("ALREADY_SIGNED_UP", 409, "您已报名该时段")
SIGNUP_CLOSED = _code("SIGNUP_CLOSED", 409, "该时段已停止报名")
SIGNUP_NOT_PENDING = _code("SIGNUP_NOT_PENDING", 409, "该报名已处理")
CANCEL_TOO_LATE = _code("CANCEL_TOO_LATE", 409, "已过取消报名的截止时间，请联系组织方")
SIGNUP_SUSPENDED = _code("SIGNUP_SUSPENDED", 403, "因多次报名后未到场，您的报名权限已暂停")

# Check-in codes and scans (DOMAIN rules 10-12): one code per refusal reason
CODE_INVALID = _code("CODE_INVALID", 422, "二维码无效，请扫描活动现场的签到码")
CODE_EXPIRED = _code("CODE_EXPIRED", 422, "二维码已过期，请扫描屏幕上最新的签到码")
CODE_WRONG_SESSION = _code("CODE_WRONG_SESSION", 422, "该二维码不属于本次活动")
CODE_REPLAYED = _code("CODE_REPLAYED", 409, "该二维码已被使用，请刷新后重试")
CARD_REVOKED = _code("CARD_REVOKED", 422, "该志愿服务卡已挂失或重新补办，请使用新卡")
CARD_NEEDS_ORGANIZER = _code("CARD_NEEDS_ORGANIZER", 403, "志愿服务卡须由活动组织方现场扫码")
NOT_SIGNED_UP = _code("NOT_SIGNED_UP", 403, "您未报名或报名未通过审核，不能签到")
CHECKIN_OUTSIDE_WINDOW = _code("CHECKIN_OUTSIDE_WINDOW", 422, "签到时间不在活动时段内")
ALREADY_CHECKED_IN = _code("ALREADY_CHECKED_IN", 409, "您已签到，无需重复签到")
CHECKOUT_BEFORE_CHECKIN = _code("CHECKOUT_BEFORE_CHECKIN", 409, "请先签到再签退")
ALREADY_CHECKED_OUT = _code("ALREADY_CHECKED_OUT", 409, "您已签退")
OUTSIDE_GEOFENCE = _code("OUTSIDE_GEOFENCE", 422, "您不在活动签到范围内，请到达活动地点后再签到")
VOLUNTEER_SUSPENDED = _code("VOLUNTEER_SUSPENDED", 403, "您的志愿服务权限已暂停，请联系组织方")
SCAN_NOT_REGISTERED = _code(
    "SCAN_NOT_REGISTERED", 403, "您还未完成志愿者实名注册：请在小程序“我的—志愿者注册”中填写实名信息后再签到"
)
DEVICE_CLOCK_SKEWED = _code("DEVICE_CLOCK_SKEWED", 422, "设备时间与服务器相差过大，请校准手机时间后重试")
SCAN_RATE_LIMITED = _code("SCAN_RATE_LIMITED", 429, "扫码过于频繁，请稍后再试")
SESSION_FULL = _code("SESSION_FULL", 409, "该时段名额已满")
NONCE_REUSED = _code("NONCE_REUSED", 409, "同一扫码编号对应了不同的扫码内容")


# Records: corrections, manual entries, deadlines (DOMAIN rules 17-20)
RECORD_NOT_FOUND = _code("RECORD_NOT_FOUND", 404, "服务记录不存在")
RECORD_NOT_CORRECTABLE = _code("RECORD_NOT_CORRECTABLE", 409, "该记录已被更正、驳回或撤销，不能再更正")
RECORD_NOT_REVOCABLE = _code("RECORD_NOT_REVOCABLE", 409, "只有已审核的记录可以撤销")
RECORD_CHANGED = _code("RECORD_CHANGED", 409, "该记录刚刚被他人处理，请刷新后重试")
CORRECTION_NO_CHANGE = _code("CORRECTION_NO_CHANGE", 422, "更正内容与原记录相同")
CORRECTION_REQUEST_OPEN = _code("CORRECTION_REQUEST_OPEN", 409, "该记录已有待处理的更正申请")
CORRECTION_REQUEST_NOT_FOUND = _code("CORRECTION_REQUEST_NOT_FOUND", 404, "更正申请不存在或已处理")
ANSWER_REQUIRED = _code("ANSWER_REQUIRED", 422, "请填写答复意见")
TIME_RANGE_INVALID = _code("TIME_RANGE_INVALID", 422, "结束时间须晚于开始时间")
EVIDENCE_REQUIRED = _code("EVIDENCE_REQUIRED", 422, "补录须上传佐证材料（如活动照片、签到表）")
MANUAL_EXCEEDS_SESSION = _code("MANUAL_EXCEEDS_SESSION", 422, "补录时长不能超过活动时段")
SECOND_APPROVER_REQUIRED = _code("SECOND_APPROVER_REQUIRED", 403, "补录须由录入人以外的另一位管理员审批")
LATE_ENTRY_NEEDS_REASON = _code("LATE_ENTRY_NEEDS_REASON", 422, "已超过10个工作日的记录期限，请填写逾期原因")
LATE_ENTRY_NEEDS_AUDITOR = _code("LATE_ENTRY_NEEDS_AUDITOR", 403, "逾期补录须由审核员（文明办）审批")
NOTIFICATION_NOT_FOUND = _code("NOTIFICATION_NOT_FOUND", 404, "通知不存在")
RECORD_EXISTS = _code("RECORD_EXISTS", 409, "该志愿者在此活动时段已有服务记录，请通过更正修改")
MANUAL_NOT_SIGNED_UP = _code("MANUAL_NOT_SIGNED_UP", 422, "该志愿者未报名此活动时段或报名未通过，不能补录")
MANUAL_SESSION_NOT_ENDED = _code("MANUAL_SESSION_NOT_ENDED", 422, "活动时段尚未结束，不能补录")
MANUAL_NOT_AWAITING_APPROVAL = _code("MANUAL_NOT_AWAITING_APPROVAL", 409, "该记录不是待审批的补录或已审批")

# Certificates and star levels (DOMAIN rules 23-24)
CERTIFICATE_NOT_FOUND = _code("CERTIFICATE_NOT_FOUND", 404, "未找到该志愿服务记录证明")
CERTIFICATE_NO_HOURS = _code("CERTIFICATE_NO_HOURS", 422, "该期间没有已审核的服务时长，无法开具证明")
CERTIFICATE_ALREADY_REVOKED = _code("CERTIFICATE_ALREADY_REVOKED", 409, "该证明已被撤销")
PERIOD_INVALID = _code("PERIOD_INVALID", 422, "起止日期不正确")
REPORT_MONTH_NOT_OVER = _code("REPORT_MONTH_NOT_OVER", 422, "该月尚未结束，月报须在次月发布")
REPORT_NOT_PUBLISHED = _code("REPORT_NOT_PUBLISHED", 404, "该地区该月的统计月报尚未发布")
EXPORT_TOO_MANY_ROWS = _code(
    "EXPORT_TOO_MANY_ROWS", 422, "记录数超过 Excel 单个工作表的上限（1048575 行），请缩小范围或改用 CSV 导出"
)


def error_catalog_markdown() -> str:
    """The code table for the OpenAPI description, so clients see every code in one place."""
    rows = [f"| `{e.code}` | {e.status} | {e.message} |" for e in CATALOG.values()]
    return "\n".join(["| code | HTTP | message |", "| --- | --- | --- |", *rows])
