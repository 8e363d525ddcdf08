"""One frozen Settings object, read from the environment; the embedded default needs nothing set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("volunteer.settings")

DEFAULT_DATA_DIR = "var"


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """DATABASE_URL, or an SQLite file in the data directory (the embedded default)."""
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return url
    data_dir = Path(env.get("DATA_DIR", DEFAULT_DATA_DIR))
    return f"sqlite:///{data_dir / 'volunteer.sqlite3'}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    redis_url: str | None
    production: bool
    # (key id, secret); the first one signs, all of them verify, so keys rotate without logouts.
    jwt_keys: tuple[tuple[str, bytes], ...]
    pii_key: bytes
    pii_hash_key: bytes
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    wechat_appid: str = "wx-dev-appid"
    wechat_secret: str = "wx-dev-secret"
    wechat_jscode2session_url: str = "https://api.weixin.qq.com/sns/jscode2session"
    wechat_timeout_s: float = 5.0
    min_volunteer_age: int = 14
    adult_age: int = 18
    code_window_s: int = 30  # rule 10: check-in codes rotate this often
    checkin_grace_min: int = 30  # rule 12: check-in opens this long before a session starts
    device_skew_s: int = 600  # a device clock further off than this from the code's window is refused
    scan_attempts_per_min: int = 10  # per volunteer and session
    late_upload_s: int = 3600  # an offline scan uploaded later than this is flagged
    daily_cap_min: int = 1440  # rule 13: at most 24 h a day across sessions
    no_show_limit: int = 5  # rule 15: no-shows in a year that suspend sign-up rights
    record_deadline_workdays: int = 10  # rule 17: records are final this many working days after the day
    record_reminder_workdays: int = 7  # rule 17: still pending this many working days on: remind the org
    star_thresholds_h: tuple[int, ...] = (100, 300, 600, 1000, 1500)  # rule 24: hours for 1★..5★
    star_mode: str = "cumulative"  # rule 24: "cumulative", or "yearly" (per calendar year)
    star_publicity_workdays: int = 5  # rule 24: 公示 before a level is published
    public_base_url: str = "http://127.0.0.1:8000"  # certificates' QR codes point here
    data_dir: str = DEFAULT_DATA_DIR
    timezone: str = "Asia/Shanghai"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.database_url)

    @property
    def local_dir(self) -> Path:
        """Where embedded state lives: beside the SQLite file, or DATA_DIR."""
        return sqlite_path(self.database_url).parent if self.sqlite else Path(self.data_dir)

    @property
    def code_key(self) -> bytes:
        """Check-in codes get their own key, derived so that no new secret has to be configured."""
        return hmac.new(self.pii_hash_key, b"checkin-codes/v1", hashlib.sha256).digest()


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Read the environment; outside production, fill missing secrets from (or into) a private file."""
    production = env.get("APP_ENV", "development") == "production"
    stored = _secrets(env, production)
    return Settings(
        database_url=database_url(env),
        redis_url=env.get("REDIS_URL") or None,
        production=production,
        jwt_keys=_parse_jwt_keys(stored["JWT_KEYS"]),
        pii_key=_b64_key(stored["PII_KEY"], "PII_KEY"),
        pii_hash_key=_b64_key(stored["PII_HASH_KEY"], "PII_HASH_KEY"),
        access_token_ttl_s=int(env.get("ACCESS_TOKEN_TTL_S", 900)),
        refresh_token_ttl_s=int(env.get("REFRESH_TOKEN_TTL_S", 30 * 24 * 3600)),
        wechat_appid=env.get("WECHAT_APPID", "wx-dev-appid"),
        wechat_secret=env.get("WECHAT_SECRET", "wx-dev-secret"),
        wechat_jscode2session_url=env.get(
            "WECHAT_JSCODE2SESSION_URL", "https://api.weixin.qq.com/sns/jscode2session"
        ),
        wechat_timeout_s=float(env.get("WECHAT_TIMEOUT_S", 5.0)),
        min_volunteer_age=int(env.get("MIN_VOLUNTEER_AGE", 14)),
        code_window_s=int(env.get("CODE_WINDOW_S", 30)),
        checkin_grace_min=int(env.get("CHECKIN_GRACE_MIN", 30)),
        device_skew_s=int(env.get("DEVICE_SKEW_S", 600)),
        scan_attempts_per_min=int(env.get("SCAN_ATTEMPTS_PER_MIN", 10)),
        late_upload_s=int(env.get("LATE_UPLOAD_S", 3600)),
        daily_cap_min=int(env.get("DAILY_CAP_MIN", 1440)),
        no_show_limit=int(env.get("NO_SHOW_LIMIT", 5)),
        record_deadline_workdays=int(env.get("RECORD_DEADLINE_WORKDAYS", 10)),
        record_reminder_workdays=int(env.get("RECORD_REMINDER_WORKDAYS", 7)),
        star_thresholds_h=_star_thresholds(env.get("STAR_THRESHOLDS_H", "100,300,600,1000,1500")),
        star_mode=_star_mode(env.get("STAR_MODE", "cumulative")),
        star_publicity_workdays=int(env.get("STAR_PUBLICITY_WORKDAYS", 5)),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        data_dir=env.get("DATA_DIR", DEFAULT_DATA_DIR),
    )


def _star_thresholds(raw: str) -> tuple[int, ...]:
    hours = tuple(int(part) for part in raw.split(",") if part.strip())
    if not hours or any(h <= 0 for h in hours) or list(hours) != sorted(set(hours)):
        raise ValueError("STAR_THRESHOLDS_H: increasing positive hours, e.g. 100,300,600,1000,1500")
    return hours


def _star_mode(raw: str) -> str:
    if raw not in ("cumulative", "yearly"):
        raise ValueError("STAR_MODE: cumulative or yearly")
    return raw


_SECRET_NAMES = ("JWT_KEYS", "PII_KEY", "PII_HASH_KEY")


def _secrets(env: Mapping[str, str], production: bool) -> dict[str, str]:
    given = {name: env[name] for name in _SECRET_NAMES if env.get(name)}
    missing = [name for name in _SECRET_NAMES if name not in given]
    if not missing:
        return given
    if production:
        raise RuntimeError(f"APP_ENV=production needs these settings: {', '.join(missing)}")
    path = Path(env.get("SECRETS_FILE") or Path(env.get("DATA_DIR", DEFAULT_DATA_DIR)) / "secrets.json")
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
    else:
        stored = generate_secrets()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f)
        log.warning("Generated development secrets in %s; keep it with the database, never commit it", path)
    return {**stored, **given}


def generate_secrets() -> dict[str, str]:
    return {
        "JWT_KEYS": f"k{secrets.token_hex(4)}:{secrets.token_urlsafe(32)}",
        "PII_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PII_HASH_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def _parse_jwt_keys(raw: str) -> tuple[tuple[str, bytes], ...]:
    keys = []
    for part in raw.split(","):
        kid, sep, secret = part.strip().partition(":")
        if not sep or not kid or len(secret) < 32:
            raise RuntimeError("JWT_KEYS must be 'kid:secret[,kid:secret...]' with secrets of 32+ characters")
        keys.append((kid, secret.encode()))
    return tuple(keys)


def _b64_key(raw: str, name: str) -> bytes:
    key = base64.urlsafe_b64decode(raw.encode())
    if len(key) != 32:
        raise RuntimeError(f"{name} must be 32 bytes, url-safe base64 encoded")
    return key
