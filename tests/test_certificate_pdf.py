"""The certificate PDF: Chinese text with an embedded font subset, the verification QR, pagination."""

from __future__ import annotations

import dataclasses
import io
import re
import statistics
import time
from datetime import date

import qrcode
from pypdf import PdfReader
from pypdf.generic import ContentStream

from volunteer.certificate_pdf import (
    FOOTNOTE,
    QR_SIZE_MM,
    CertificateData,
    RecordingUnit,
    ServiceLine,
    qr_matrix,
    render_certificate,
)

VERIFY_URL = "https://zyz.example.cn/certificates/verify/SH2026-000123"
MM = 72 / 25.4


def make_certificate(line_count: int = 3) -> CertificateData:
    lines = tuple(
        ServiceLine(
            organization=f"黄浦区外滩街道志愿者服务中心{n}",
            content=f"社区敬老助餐、文明交通引导与垃圾分类宣传第{n}期",
            minutes=250,
        )
        for n in range(1, line_count + 1)
    )
    return CertificateData(
        certificate_no="SH2026-000123",
        volunteer_name="张小明",
        id_number_masked="3101**********123X",
        volunteer_no="31010120260001",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        total_minutes=750,
        lines=lines,
        recording_units=(
            RecordingUnit("外滩街道志愿者服务中心", "李红", "021-63210000"),
            RecordingUnit("南京东路街道社区服务中心", "王刚", "13800138000"),
        ),
        issue_date=date(2026, 7, 2),
        verify_url=VERIFY_URL,
        issuer="上海市黄浦区精神文明建设委员会办公室",
    )


def page_texts(pdf: bytes) -> list[str]:
    # pypdf reads fpdf2's embedded CID encoding CMap as one-byte codes, leaving a NUL before each
    # character; the two-byte codes of these small subsets have a zero high byte, so dropping NUL is exact.
    pages = PdfReader(io.BytesIO(pdf)).pages
    return [re.sub(r"[\s\x00]+", "", page.extract_text()) for page in pages]


def test_certificate_is_a_pdf_with_the_chinese_font_subset_embedded() -> None:
    pdf = render_certificate(make_certificate())

    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile3" in pdf or b"/FontFile2" in pdf
    # A subset's name carries a six-letter tag: the font travels with the file, not the reader's system.
    assert re.search(rb"/BaseFont /[A-Z]{6}\+NotoSansSC", pdf)


def test_certificate_text_states_what_rule_23_lists() -> None:
    (text,) = page_texts(render_certificate(make_certificate()))

    for expected in (
        "志愿服务记录证明",
        "兹证明张小明（身份证号3101**********123X，志愿者编号31010120260001）",
        "于2026年1月1日至2026年6月30日期间参加志愿服务，累计服务时长12.5小时，具体如下：",
        "社区敬老助餐、文明交通引导与垃圾分类宣传第1期",
        "4.2",  # 250 minutes
        "外滩街道志愿者服务中心负责人：李红联系电话：021-63210000",
        "证明编号：SH2026-000123",
        "出具单位：上海市黄浦区精神文明建设委员会办公室",
        "出具日期：2026年7月2日",
        "扫码验证",
        FOOTNOTE,
    ):
        assert expected in text, expected


def test_qr_drawn_on_the_page_is_the_verify_url() -> None:
    pdf = render_certificate(make_certificate())
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    ops = ContentStream(page.get_contents(), page.pdf).operations

    expected = qrcode.QRCode(error_correction=qrcode.ERROR_CORRECT_M, border=0)
    expected.add_data(VERIFY_URL)
    expected.make(fit=True)
    modules: list[list[bool]] = expected.get_matrix()
    assert qr_matrix(VERIFY_URL) == modules

    # Rebuild the matrix from the filled rectangles exactly one module high.
    size = len(modules)
    module_pt = QR_SIZE_MM * MM / size
    runs = [
        tuple(float(v) for v in operands)
        for operands, op in ops
        if op == b"re" and abs(abs(float(operands[3])) - module_pt) < 0.02
    ]
    left = min(x for x, _, _, _ in runs)
    top = max(y for _, y, _, _ in runs)
    drawn = [[False] * size for _ in range(size)]
    for x, y, width, _ in runs:
        row = round((top - y) / module_pt)
        start = round((x - left) / module_pt)
        for col in range(start, start + round(width / module_pt)):
            drawn[row][col] = True
    assert drawn == modules


def test_thirty_service_lines_paginate_and_keep_the_closing_block_whole() -> None:
    texts = page_texts(render_certificate(make_certificate(line_count=30)))

    assert len(texts) >= 2
    assert "第1期" in texts[0]
    last_row_page = next(text for text in texts if "第30期" in text)
    assert last_row_page != texts[0]
    assert "服务内容" in last_row_page  # headings repeat on every table page
    assert all(f"/{len(texts)}页" in text for text in texts)
    assert "垃圾分类宣传第30期" in "".join(texts)
    assert "扫码验证" in texts[-1]
    assert "证明编号：SH2026-000123" in texts[-1]
    assert FOOTNOTE in texts[-1]


def test_long_names_wrap_inside_their_cells() -> None:
    data = dataclasses.replace(
        make_certificate(1),
        lines=(ServiceLine("上海市" * 20 + "志愿者协会", "长期结对帮扶" * 15, 61),),
    )

    (text,) = page_texts(render_certificate(data))

    assert "上海市" * 20 + "志愿者协会" in text
    assert "长期结对帮扶" * 15 in text


def test_render_time_and_sample_file() -> None:
    data = make_certificate(line_count=8)
    render_certificate(data)  # warm imports and fontTools caches
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        pdf = render_certificate(data)
        timings.append(time.perf_counter() - start)
    with open("/tmp/certificate_sample.pdf", "wb") as out:
        out.write(pdf)
    print(f"certificate PDF: median {statistics.median(timings) * 1000:.0f} ms, {len(pdf)} bytes")
