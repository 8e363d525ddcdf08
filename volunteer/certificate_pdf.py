"""Certificate PDF (志愿服务记录证明, rule 23): data in, bytes out, the CJK font embedded as a subset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import qrcode
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from fpdf.fonts import FontFace
from pylopdf_fonts_zh_cn import sans_path

from volunteer.hours import format_hours

FONT = "NotoSansSC"
QR_SIZE_MM = 30.0
FOOTNOTE = "本证明依据《志愿服务记录与证明出具办法（试行）》出具，免费提供。"


@dataclass(frozen=True)
class ServiceLine:
    organization: str
    content: str
    minutes: int


@dataclass(frozen=True)
class RecordingUnit:
    name: str
    person_in_charge: str
    phone: str


@dataclass(frozen=True)
class CertificateData:
    certificate_no: str
    volunteer_name: str  # shown in full: only the public verification page masks it
    id_number_masked: str
    volunteer_no: str
    period_start: date
    period_end: date
    total_minutes: int
    lines: tuple[ServiceLine, ...]
    recording_units: tuple[RecordingUnit, ...]
    issue_date: date
    verify_url: str
    issuer: str


def qr_matrix(text: str) -> list[list[bool]]:
    """Modules of the QR drawn on the certificate, without quiet zone; True is dark."""
    qr = qrcode.QRCode(error_correction=qrcode.ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _CertificatePDF(FPDF):
    certificate_no = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"证明编号 {self.certificate_no}    第 {self.page_no()}/{{nb}} 页", align=Align.C)
        self.set_text_color(0)


def render_certificate(data: CertificateData) -> bytes:
    pdf = _CertificatePDF(format="A4", unit="mm")
    pdf.certificate_no = data.certificate_no
    pdf.set_creator("volunteer-platform")
    pdf.set_title(f"志愿服务记录证明 {data.certificate_no}")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=18)
    # Parsed per document (~80 ms): fpdf2 subsets the parsed font in place at output, so it can't be shared.
    pdf.add_font(FONT, fname=sans_path())
    pdf.add_page()

    pdf.set_font(FONT, size=20)
    pdf.cell(0, 14, "志愿服务记录证明", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    pdf.set_font(FONT, size=11.5)
    pdf.multi_cell(
        0,
        8,
        f"    兹证明 {data.volunteer_name}（身份证号 {data.id_number_masked}，志愿者编号 "
        f"{data.volunteer_no}）于 {chinese_date(data.period_start)}至{chinese_date(data.period_end)} "
        f"期间参加志愿服务，累计服务时长 {format_hours(data.total_minutes)} 小时，具体如下：",
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)

    pdf.set_font(FONT, size=10)
    with pdf.table(
        col_widths=(12, 50, 80, 28),
        text_align=(Align.C, Align.L, Align.L, Align.R),
        line_height=6,
        wrapmode=WrapMode.CHAR,
        padding=1.5,
        headings_style=FontFace(emphasis="", fill_color=(235, 235, 235)),  # one weight shipped: no bold
    ) as table:
        table.row(("序号", "服务单位", "服务内容", "时长（小时）"))
        for n, line in enumerate(data.lines, 1):
            table.row((str(n), line.organization, line.content, format_hours(line.minutes)))
    pdf.ln(5)

    pdf.set_font(FONT, size=11)
    pdf.cell(0, 7, "记录单位：", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    for unit in data.recording_units:
        pdf.multi_cell(
            0,
            6,
            f"{unit.name}    负责人：{unit.person_in_charge}    联系电话：{unit.phone}",
            wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.ln(4)

    # The closing block (numbers, issuer, QR, note) stays together on one page.
    if pdf.get_y() + QR_SIZE_MM + 30 > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font(FONT, size=11)
    for text in (
        f"证明编号：{data.certificate_no}",
        f"出具单位：{data.issuer}",
        f"出具日期：{chinese_date(data.issue_date)}",
    ):
        pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    qr_x = pdf.w - pdf.r_margin - QR_SIZE_MM
    _draw_qr(pdf, qr_matrix(data.verify_url), qr_x, top, QR_SIZE_MM)
    pdf.set_font(FONT, size=9)
    pdf.set_xy(qr_x, top + QR_SIZE_MM + 1)
    pdf.cell(QR_SIZE_MM, 5, "扫码验证", align=Align.C)

    pdf.set_xy(pdf.l_margin, max(pdf.get_y() + 10, top + 3 * 8 + 8))
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(80)
    pdf.multi_cell(0, 5, FOOTNOTE, wrapmode=WrapMode.CHAR)
    return bytes(pdf.output())


def _draw_qr(pdf: FPDF, matrix: list[list[bool]], x: float, y: float, size: float) -> None:
    """Vector modules, one rectangle per horizontal run: sharp at any zoom and no image library."""
    module = size / len(matrix)
    pdf.set_fill_color(0)
    for row, modules in enumerate(matrix):
        col = 0
        while col < len(modules):
            if not modules[col]:
                col += 1
                continue
            start = col
            while col < len(modules) and modules[col]:
                col += 1
            pdf.rect(x + start * module, y + row * module, (col - start) * module, module, style="F")
