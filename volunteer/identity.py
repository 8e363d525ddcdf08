"""Identity documents, USCC and volunteer numbers: validation and masking, pure and I/O-free."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from errors import (
    ID_BIRTH_DATE_INVALID,
    ID_CHECK_DIGIT_INVALID,
    ID_NUMBER_INVALID,
    ID_REGION_INVALID,
    USCC_INVALID,
    DomainError,
    ErrorCode,
)


class IdType(StrEnum):
    """The ID document kinds a volunteer may register with."""

    resident_id = "resident_id"
    hmt_residence = "hmt_residence"
    hk_macau_permit = "hk_macau_permit"
    taiwan_permit = "taiwan_permit"
    passport = "passport"
    foreign_permanent = "foreign_permanent"


Gender = Literal["male", "female"]


@dataclass(frozen=True)
class ParsedId:
    """A validated ID number with what can be read from it, so callers never re-parse."""

    id_type: IdType
    number: str
    birth_date: date | None
    gender: Gender | None


# Province-level codes that can open an 18-digit number; 81/82/83 are HK/Macau/Taiwan residence permits.
_PROVINCE_LIST = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83"
)
PROVINCE_CODES = frozenset(_PROVINCE_LIST.split())
HMT_CODES = frozenset({"81", "82", "83"})
EARLIEST_BIRTH = date(1900, 1, 1)

_MOD11_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_MOD11_CHARS = "10X98765432"

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_DIGITS_18 = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS_15 = re.compile(r"[0-9]{15}")
_HK_MACAU = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
_TAIWAN = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
_PASSPORT = re.compile(r"(?=[A-Z0-9]*[0-9])[A-Z0-9]{5,17}")
_FOREIGN_OLD = re.compile(r"[A-Z]{3}[0-9]{12}")
_NAME_SEPARATORS = re.compile(r"([ ·・•])")


def _fail(error: ErrorCode, reason: str) -> DomainError:
    """Build the error with a detail that never echoes the number back."""
    return DomainError(error, detail={"field": "id_number", "reason": reason})


def normalize_id_number(raw: str) -> str:
    """Users paste numbers from phones with full-width digits, spaces and lower-case x."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def check_digit_mod11_2(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character, for validation and for building test numbers."""
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError("first17 must be 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _MOD11_WEIGHTS, strict=True))
    return _MOD11_CHARS[total % 11]


def _birth_date(yyyymmdd: str, today: date) -> date:
    """A birth date must exist on the calendar and lie between 1900 and today."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise _fail(ID_BIRTH_DATE_INVALID, "not_a_date") from None
    if born > today:
        raise _fail(ID_BIRTH_DATE_INVALID, "future")
    if born < EARLIEST_BIRTH:
        raise _fail(ID_BIRTH_DATE_INVALID, "too_early")
    return born


def _parse_18(id_type: IdType, number: str, today: date) -> ParsedId:
    """Shared rules of the 18-character MOD 11-2 numbers (resident, HMT residence, new foreign)."""
    if not _DIGITS_18.fullmatch(number):
        raise _fail(ID_NUMBER_INVALID, "format")
    if check_digit_mod11_2(number[:17]) != number[17]:
        raise _fail(ID_CHECK_DIGIT_INVALID, "check_digit")
    # Only the province is checked: digits 3-6 may be a former district code and stay valid forever.
    province = number[:2]
    if id_type is IdType.resident_id:
        if province not in PROVINCE_CODES or province in HMT_CODES:
            raise _fail(ID_REGION_INVALID, "province")
    elif id_type is IdType.hmt_residence and province not in HMT_CODES:
        raise _fail(ID_REGION_INVALID, "province")
    born = _birth_date(number[6:14], today)
    gender: Gender = "male" if int(number[16]) % 2 == 1 else "female"
    return ParsedId(id_type, number, born, gender)


def parse_id(id_type: IdType, raw: str, *, today: date) -> ParsedId:
    """Validate an ID number of the given type and read birth date and gender where it holds them."""
    number = normalize_id_number(raw)
    if id_type in (IdType.resident_id, IdType.hmt_residence):
        if id_type is IdType.resident_id and _DIGITS_15.fullmatch(number):
            raise _fail(ID_NUMBER_INVALID, "legacy_15_digit")
        return _parse_18(id_type, number, today)
    if id_type is IdType.foreign_permanent:
        if len(number) == 18 and number.startswith("9"):
            return _parse_18(id_type, number, today)
        if _FOREIGN_OLD.fullmatch(number):
            return ParsedId(id_type, number, None, None)
        raise _fail(ID_NUMBER_INVALID, "format")
    pattern = {
        IdType.hk_macau_permit: _HK_MACAU,
        IdType.taiwan_permit: _TAIWAN,
        IdType.passport: _PASSPORT,
    }[id_type]
    if not pattern.fullmatch(number):
        raise _fail(ID_NUMBER_INVALID, "format")
    return ParsedId(id_type, number, None, None)


def mask_id_number(number: str) -> str:
    """Certificates and public pages show only enough of an ID number to recognise it."""
    n = len(number)
    if n >= 9:
        return number[:4] + "*" * (n - 8) + number[-4:]
    if n <= 3:
        return "*" * n
    return number[0] + "*" * (n - 3) + number[-2:]


def _mask_word(word: str) -> str:
    """One name without separators: first character (and last, from three characters on) kept."""
    n = len(word)
    if n <= 1:
        return "*" * n
    if n == 2:
        return word[0] + "*"
    return word[0] + "*" * (n - 2) + word[-1]


def mask_name(name: str) -> str:
    """Public pages show a name masked so the person is recognisable but not identifiable."""
    if not _NAME_SEPARATORS.search(name):
        return _mask_word(name)
    parts = _NAME_SEPARATORS.split(name)
    return "".join(p if i % 2 == 1 else p[:1] + "*" * (len(p) - 1) for i, p in enumerate(parts))


def mask_phone(phone: str) -> str:
    """Lists shown to organizers identify a phone without exposing it."""
    n = len(phone)
    if n == 11 and phone.isascii() and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    if n <= 5:
        return "*" * n
    return phone[:3] + "*" * (n - 5) + phone[-2:]


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character, for validation and for building test codes."""
    if len(first17) != 17 or any(c not in _USCC_VALUES for c in first17):
        raise ValueError("first17 must be 17 characters of the USCC charset")
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    """Registered organizations prove who they are with a USCC whose check character must hold."""
    code = unicodedata.normalize("NFKC", raw).strip().upper()
    if len(code) != 18 or any(c not in _USCC_VALUES for c in code):
        raise DomainError(USCC_INVALID, detail={"field": "uscc", "reason": "format"})
    if not code[2:8].isdigit():
        raise DomainError(USCC_INVALID, detail={"field": "uscc", "reason": "region"})
    if uscc_check_char(code[:17]) != code[17]:
        raise DomainError(USCC_INVALID, detail={"field": "uscc", "reason": "check_char"})
    return code


def _luhn_check_digit(payload: str) -> str:
    """Luhn catches single-digit typos and most swaps when a number is read aloud or typed."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def volunteer_number(rand: Callable[[int], int] = secrets.randbelow) -> str:
    """A public number with no link to the ID number, so showing it leaks nothing."""
    payload = str(rand(9) + 1) + "".join(str(rand(10)) for _ in range(10))
    return payload + _luhn_check_digit(payload)


def volunteer_number_valid(s: str) -> bool:
    """Reject mistyped volunteer numbers before looking them up."""
    if not re.fullmatch(r"[1-9][0-9]{11}", s):
        return False
    return _luhn_check_digit(s[:11]) == s[11]
