"""Behaviour of ID validation, USCC, masking and volunteer numbers."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errors import DomainError
from volunteer.identity import (
    USCC_CHARSET,
    IdType,
    check_digit_mod11_2,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_id,
    uscc_check_char,
    validate_uscc,
    volunteer_number,
    volunteer_number_valid,
)

TODAY = date(2025, 6, 1)
_PROVINCES = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71"
RESIDENT_PROVINCES = _PROVINCES.split()


def with_check(first17: str) -> str:
    return first17 + check_digit_mod11_2(first17)


def error_code(id_type: IdType, raw: str) -> str:
    with pytest.raises(DomainError) as exc:
        parse_id(id_type, raw, today=TODAY)
    return exc.value.error.code


# --- 18-digit numbers: properties -------------------------------------------------------------


@st.composite
def resident_parts(draw: st.DrawFn) -> tuple[str, date, str]:
    province = draw(st.sampled_from(RESIDENT_PROVINCES))
    district = draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    return with_check(province + district + born.strftime("%Y%m%d") + seq), born, seq


@given(resident_parts())
def test_any_well_built_resident_number_parses_with_its_birth_date_and_gender(
    parts: tuple[str, date, str],
) -> None:
    number, born, seq = parts
    parsed = parse_id(IdType.resident_id, number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == born
    assert parsed.gender == ("male" if int(seq[-1]) % 2 else "female")


@given(resident_parts(), st.integers(0, 16), st.integers(1, 9))
def test_changing_any_single_digit_is_always_rejected(
    parts: tuple[str, date, str], pos: int, delta: int
) -> None:
    number = parts[0]
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    with pytest.raises(DomainError):
        parse_id(IdType.resident_id, changed, today=TODAY)


# --- 18-digit numbers: examples ---------------------------------------------------------------


def test_wrong_check_digit_is_rejected_with_its_own_code() -> None:
    good = with_check("11010519491231002")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert error_code(IdType.resident_id, bad) == "ID_CHECK_DIGIT_INVALID"


def test_february_30_is_not_a_birth_date() -> None:
    assert error_code(IdType.resident_id, with_check("11010520000230001")) == "ID_BIRTH_DATE_INVALID"


def test_future_birth_date_is_rejected() -> None:
    assert error_code(IdType.resident_id, with_check("11010520250602001")) == "ID_BIRTH_DATE_INVALID"


def test_birth_before_1900_is_rejected() -> None:
    assert error_code(IdType.resident_id, with_check("11010518991231001")) == "ID_BIRTH_DATE_INVALID"


def test_born_today_is_accepted() -> None:
    parsed = parse_id(IdType.resident_id, with_check("11010520250601002"), today=TODAY)
    assert parsed.birth_date == TODAY
    assert parsed.gender == "female"


def test_unknown_province_is_rejected() -> None:
    assert error_code(IdType.resident_id, with_check("99010519900307123")) == "ID_REGION_INVALID"


def test_historical_district_code_stays_valid() -> None:
    number = with_check("31023019900307123")  # 310230 崇明县, now 崇明区 310151
    parsed = parse_id(IdType.resident_id, number, today=TODAY)
    assert parsed.birth_date == date(1990, 3, 7)
    assert parsed.gender == "male"


def test_district_digits_are_never_checked() -> None:
    parse_id(IdType.resident_id, with_check("31000019900307123"), today=TODAY)


def test_full_width_digits_and_lower_case_x_are_normalized() -> None:
    first17 = next(
        f"1101051990030712{d}" for d in "0123456789" if check_digit_mod11_2(f"1101051990030712{d}") == "X"
    )
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in first17) + "x"
    parsed = parse_id(IdType.resident_id, f"  {full_width} ", today=TODAY)
    assert parsed.number == first17 + "X"


def test_15_digit_legacy_number_is_rejected_as_expired() -> None:
    with pytest.raises(DomainError) as exc:
        parse_id(IdType.resident_id, "110105491231002", today=TODAY)
    assert exc.value.error.code == "ID_NUMBER_INVALID"
    assert exc.value.detail["reason"] == "legacy_15_digit"


@pytest.mark.parametrize("raw", ["", "1101051949123100", "1101051949123100211", "11010519491231A021"])
def test_wrong_length_or_non_digits_are_malformed(raw: str) -> None:
    assert error_code(IdType.resident_id, raw) == "ID_NUMBER_INVALID"


def test_error_detail_never_contains_the_number() -> None:
    number = with_check("99010519900307123")
    with pytest.raises(DomainError) as exc:
        parse_id(IdType.resident_id, number, today=TODAY)
    assert number not in repr(exc.value.detail)
    assert exc.value.detail["field"] == "id_number"


def test_hmt_prefix_belongs_to_residence_permit_not_resident_id() -> None:
    number = with_check("81000019900307123")
    assert error_code(IdType.resident_id, number) == "ID_REGION_INVALID"
    parsed = parse_id(IdType.hmt_residence, number, today=TODAY)
    assert parsed.birth_date == date(1990, 3, 7)


def test_hmt_residence_permit_must_start_with_81_82_83() -> None:
    assert error_code(IdType.hmt_residence, with_check("11010519900307123")) == "ID_REGION_INVALID"


# --- other documents --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        (IdType.hk_macau_permit, "H12345678"),
        (IdType.hk_macau_permit, "m1234567890"),
        (IdType.taiwan_permit, "12345678"),
        (IdType.taiwan_permit, "1234567801"),
        (IdType.passport, "E12345678"),
        (IdType.passport, "12345"),
        (IdType.foreign_permanent, "USA123456789012"),
    ],
)
def test_permits_and_passports_pass_format_checks(id_type: IdType, raw: str) -> None:
    parsed = parse_id(id_type, raw, today=TODAY)
    assert parsed.number == raw.upper()
    assert parsed.birth_date is None and parsed.gender is None


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        (IdType.hk_macau_permit, "A12345678"),
        (IdType.hk_macau_permit, "H123456789"),
        (IdType.taiwan_permit, "123456789"),
        (IdType.taiwan_permit, "T1234567"),
        (IdType.passport, "ABCDEFG"),
        (IdType.passport, "E123"),
        (IdType.passport, "E123456789012345678"),
        (IdType.passport, "E1234-5678"),
        (IdType.foreign_permanent, "US1234567890123"),
        (IdType.foreign_permanent, with_check("11010519900307123")),
    ],
)
def test_malformed_permits_and_passports_are_rejected(id_type: IdType, raw: str) -> None:
    assert error_code(id_type, raw) == "ID_NUMBER_INVALID"


def test_new_foreign_permanent_card_uses_check_digit_and_birth_date() -> None:
    number = with_check("93384019900307123")
    parsed = parse_id(IdType.foreign_permanent, number, today=TODAY)
    assert parsed.birth_date == date(1990, 3, 7)
    bad = number[:17] + ("0" if number[17] != "0" else "1")
    assert error_code(IdType.foreign_permanent, bad) == "ID_CHECK_DIGIT_INVALID"
    assert error_code(IdType.foreign_permanent, with_check("93384020000230123")) == "ID_BIRTH_DATE_INVALID"


# --- USCC -------------------------------------------------------------------------------------

USCC_CHAR = st.sampled_from(USCC_CHARSET)
DIGIT = st.sampled_from("0123456789")


@st.composite
def usccs(draw: st.DrawFn) -> str:
    head = "".join(draw(st.lists(USCC_CHAR, min_size=2, max_size=2)))
    region = "".join(draw(st.lists(DIGIT, min_size=6, max_size=6)))
    body = "".join(draw(st.lists(USCC_CHAR, min_size=9, max_size=9)))
    first17 = head + region + body
    return first17 + uscc_check_char(first17)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_real_uscc_examples_validate(code: str) -> None:
    assert validate_uscc(f" {code.lower()} ") == code


@given(usccs())
def test_generated_uscc_validates(code: str) -> None:
    assert validate_uscc(code) == code


@given(usccs(), st.integers(0, 17), st.characters(min_codepoint=0x21, max_codepoint=0x7E))
def test_any_single_character_substitution_in_uscc_is_rejected(code: str, pos: int, ch: str) -> None:
    if ch.upper() == code[pos]:
        ch = USCC_CHARSET[(USCC_CHARSET.index(code[pos]) + 1) % 31]
    changed = code[:pos] + ch + code[pos + 1 :]
    with pytest.raises(DomainError) as exc:
        validate_uscc(changed)
    assert exc.value.error.code == "USCC_INVALID"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y4I", "9135A100M000100Y43"])
def test_malformed_uscc_is_rejected(code: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_uscc(code)
    assert exc.value.error.code == "USCC_INVALID"


# --- masking ----------------------------------------------------------------------------------


def test_id_number_masking_keeps_first_and_last_four() -> None:
    assert mask_id_number("31010119900307123X") == "3101**********123X"
    assert mask_id_number("H12345678") == "H123*5678"
    assert mask_id_number("12345678") == "1*****78"


@given(st.text(alphabet="0123456789ABCDEFXH", max_size=30))
def test_id_masking_keeps_length_and_reveals_at_most_eight_characters(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    revealed = [m for m, o in zip(masked, number, strict=True) if m != "*"]
    assert len(revealed) <= 8
    assert all(m in ("*", o) for m, o in zip(masked, number, strict=True))


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("", ""),
        ("张三", "张*"),
        ("张小明", "张*明"),
        ("欧阳小明", "欧**明"),
        ("John Smith", "J*** S****"),
        ("阿卜杜·热合曼", "阿**·热**"),
    ],
)
def test_name_masking(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_phone_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("02112345678901") == "021*********01"


# --- volunteer numbers ------------------------------------------------------------------------


@given(st.randoms(use_true_random=False))
def test_volunteer_numbers_are_twelve_digits_and_self_checking(rnd: random.Random) -> None:
    number = volunteer_number(lambda n: rnd.randrange(n))
    assert len(number) == 12 and number.isdigit() and number[0] != "0"
    assert volunteer_number_valid(number)


def test_default_volunteer_number_is_valid() -> None:
    assert volunteer_number_valid(volunteer_number())


def test_mistyped_volunteer_number_is_invalid() -> None:
    number = volunteer_number(lambda n: n - 1)
    wrong = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    assert not volunteer_number_valid(wrong)
    assert not volunteer_number_valid(number[:11])
    assert not volunteer_number_valid("0" + number[1:])
