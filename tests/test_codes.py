"""Check-in code tokens (DOMAIN rules 10-11) and their QR images."""

from __future__ import annotations

import struct
import time
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errors import DomainError
from volunteer.codes import MAX_SUBJECT, CodeClaims, CodeKind, CodeSigner
from volunteer.qr import QrCache, render_png, render_svg

KEY = b"test-checkin-code-key-0123456789"
NOW = datetime(2026, 11, 21, 2, 0, 5, tzinfo=UTC)
SCENE_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~")
signer = CodeSigner(KEY)


def refusal(code: str, now: datetime = NOW, with_signer: CodeSigner = signer) -> str:
    with pytest.raises(DomainError) as exc:
        with_signer.verify(code, now)
    return exc.value.error.code


def test_session_code_verifies_to_its_session_and_window() -> None:
    claims = signer.verify(signer.session_code(42, NOW), NOW)
    assert claims == CodeClaims(CodeKind.SESSION, 42, signer.window_of(NOW), 0)


def test_code_from_previous_window_still_verifies_within_grace() -> None:
    code = signer.session_code(42, NOW)
    assert signer.verify(code, NOW + timedelta(seconds=30)).window == signer.window_of(NOW)


def test_code_two_windows_old_is_expired() -> None:
    assert refusal(signer.session_code(42, NOW), NOW + timedelta(seconds=60)) == "CODE_EXPIRED"


def test_code_more_than_one_window_in_the_future_is_expired() -> None:
    assert signer.verify(signer.session_code(42, NOW + timedelta(seconds=30)), NOW).subject == 42
    assert refusal(signer.session_code(42, NOW + timedelta(seconds=60))) == "CODE_EXPIRED"


def test_surrounding_whitespace_is_accepted() -> None:
    assert signer.verify(f" {signer.session_code(42, NOW)}\n", NOW).subject == 42


@pytest.mark.parametrize("position", [0, 1, 3, 8, -1])
def test_tampered_character_is_invalid(position: int) -> None:
    code = signer.session_code(42, NOW)
    swapped = "Q" if code[position] != "Q" else "R"
    tampered = code[:position] + swapped + code[position:][1:] if position >= 0 else code[:-1] + swapped
    assert refusal(tampered) == "CODE_INVALID"


def test_code_is_case_exact() -> None:
    assert refusal(signer.session_code(42, NOW).lower()) == "CODE_INVALID"


def test_code_for_session_a_carries_session_a_not_b() -> None:
    code_a, code_b = signer.session_code(1, NOW), signer.session_code(2, NOW)
    assert code_a != code_b
    assert signer.verify(code_a, NOW).subject == 1


def test_personal_code_is_distinct_from_session_code_for_same_number() -> None:
    session, personal = signer.session_code(7, NOW), signer.personal_code(7, NOW)
    assert session != personal
    assert signer.verify(personal, NOW).kind is CodeKind.PERSONAL
    assert signer.verify(session, NOW).kind is CodeKind.SESSION
    # Relabelling a personal code as a session code breaks the MAC.
    assert refusal("S" + personal[1:]) == "CODE_INVALID"


def test_card_code_has_no_window_carries_version_and_never_expires() -> None:
    code = signer.card_code(7, 3)
    for at in (NOW, NOW + timedelta(days=3650), datetime(2000, 1, 1, tzinfo=UTC)):
        assert signer.verify(code, at) == CodeClaims(CodeKind.CARD, 7, 0, 3)
    assert signer.card_code(7, 4) != code


def test_card_survives_a_change_of_window_length_but_rotating_codes_do_not() -> None:
    slower = CodeSigner(KEY, window_s=60)
    assert slower.verify(signer.card_code(7, 3), NOW).version == 3
    assert refusal(signer.session_code(7, NOW), with_signer=slower) == "CODE_INVALID"


def test_code_signed_with_another_key_is_invalid() -> None:
    other = CodeSigner(b"another-checkin-code-key-abcdefg")
    assert refusal(other.session_code(42, NOW)) == "CODE_INVALID"
    assert refusal(other.card_code(42, 1)) == "CODE_INVALID"


def test_worst_case_code_fits_the_scene_limit() -> None:
    year_2120 = datetime(2120, 12, 31, 23, 59, 59, tzinfo=UTC)
    for one in (signer, CodeSigner(KEY, window_s=1)):
        code = one.session_code(MAX_SUBJECT - 1, year_2120)
        assert len(code) <= 32, code
    assert len(signer.card_code(MAX_SUBJECT - 1, 2**31 - 1)) <= 32


@given(
    subject=st.integers(1, MAX_SUBJECT - 1),
    at=st.datetimes(datetime(1970, 1, 1), datetime(2120, 12, 31), timezones=st.just(UTC)),
    kind=st.sampled_from(CodeKind),
)
def test_every_code_fits_32_scene_characters_and_round_trips(
    subject: int, at: datetime, kind: CodeKind
) -> None:
    if kind is CodeKind.CARD:
        code = signer.card_code(subject, subject % 1000)
    elif kind is CodeKind.SESSION:
        code = signer.session_code(subject, at)
    else:
        code = signer.personal_code(subject, at)
    assert len(code) <= 32
    assert set(code) <= SCENE_CHARS
    claims = signer.verify(code, at)
    assert (claims.kind, claims.subject) == (kind, subject)


@given(
    st.text(max_size=80)
    | st.from_regex(r"[SPC][0-9A-Z]{1,9}\.[0-9A-Z]{1,8}\.[A-Z2-7]{12,14}", fullmatch=True)
)
def test_garbage_is_refused_only_with_code_errors(text: str) -> None:
    try:
        signer.verify(text, NOW)
    except DomainError as exc:
        assert exc.error.code in {"CODE_INVALID", "CODE_EXPIRED"}


def test_non_canonical_number_is_invalid() -> None:
    code = signer.session_code(42, NOW)
    assert refusal(code[0] + "0" + code[1:]) == "CODE_INVALID"


def test_repr_shows_neither_code_nor_key() -> None:
    code = signer.session_code(42, NOW)
    claims = signer.verify(code, NOW)
    cache = QrCache()
    cache.svg(code)
    for text in (repr(claims), repr(signer), repr(cache)):
        assert code not in text
        assert KEY.decode() not in text and repr(KEY) not in text


def test_seconds_left_and_window_bounds_follow_the_rotation() -> None:
    start, end = signer.window_bounds(signer.window_of(NOW))
    assert start <= NOW < end and end - start == timedelta(seconds=30)
    assert start.tzinfo is UTC
    assert signer.seconds_left(NOW) == 25
    assert signer.seconds_left(start) == 30
    assert signer.seconds_left(end - timedelta(milliseconds=1)) == 1


def _png_pixels(png: bytes) -> tuple[int, list[bytes]]:
    """Minimal decoder for the 1-bit, filter-0 PNGs render_png writes."""
    pos, idat, width = 8, b"", 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + data)
        if kind == b"IHDR":
            width = struct.unpack(">I", data[:4])[0]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride = zlib.decompress(idat), 1 + (width + 7) // 8
    return width, [raw[i : i + stride] for i in range(0, len(raw), stride)]


def test_png_is_a_valid_image_of_the_qr_matrix() -> None:
    import qrcode

    code = signer.session_code(42, NOW)
    started = time.perf_counter()
    png = render_png(code, box_size=8)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\nrender_png({len(code)} chars): {elapsed_ms:.2f} ms, {len(png)} bytes")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200

    qr = qrcode.QRCode(error_correction=qrcode.ERROR_CORRECT_M, border=2)
    qr.add_data(code)
    matrix = qr.get_matrix()
    width, rows = _png_pixels(png)
    assert width == len(matrix) * 8 and len(rows) == width
    for y, modules in enumerate(matrix):
        bits = "".join(f"{b:08b}" for b in rows[y * 8 + 3][1:])
        assert [bits[x * 8 + 3] == "0" for x in range(len(modules))] == modules


def test_svg_is_an_svg_document() -> None:
    svg = render_svg(signer.session_code(42, NOW))
    assert b"<svg" in svg and b"<path" in svg


def test_cache_renders_each_code_once_and_returns_the_same_bytes() -> None:
    cache = QrCache(max_entries=2)
    code = signer.session_code(42, NOW)
    first = cache.png(code)
    assert cache.png(code) is first
    assert cache.renders == 1
    cache.svg(code)
    assert cache.renders == 2
    cache.png("other")
    assert cache.png(code) is not first  # oldest entry dropped beyond max_entries
    assert cache.renders == 4
