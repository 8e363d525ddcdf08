"""QR images of check-in codes; PNG is encoded here with zlib so rendering needs neither Pillow nor pypng."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections import OrderedDict
from typing import Literal

import qrcode
from qrcode.image.svg import SvgPathFillImage

BORDER = 2
Format = Literal["png", "svg"]


def _qr(text: str, box_size: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.ERROR_CORRECT_M, box_size=box_size, border=BORDER)
    qr.add_data(text)
    qr.make(fit=True)
    return qr


def render_png(text: str, *, box_size: int = 8) -> bytes:
    """1-bit greyscale PNG, black modules on white."""
    matrix: list[list[bool]] = _qr(text, box_size).get_matrix()  # includes the border
    side = len(matrix) * box_size
    pad = -side % 8
    raw = bytearray()
    for modules in matrix:
        bits = "".join(("0" if dark else "1") * box_size for dark in modules) + "0" * pad
        row = b"\x00" + int(bits, 2).to_bytes((side + pad) // 8, "big")  # filter type 0
        raw += row * box_size
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw, 9)),
            _chunk(b"IEND", b""),
        ]
    )


def render_svg(text: str) -> bytes:
    image = _qr(text, 10).make_image(image_factory=SvgPathFillImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class QrCache:
    """Renders a rotating code once per window instead of once per request; losing it loses nothing."""

    def __init__(self, max_entries: int = 256, *, box_size: int = 8) -> None:
        self.max_entries = max_entries
        self.box_size = box_size
        self.renders = 0
        self._items: OrderedDict[tuple[str, Format], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # keys are live check-in codes
        return f"QrCache(entries={len(self._items)}, renders={self.renders})"

    def png(self, text: str) -> bytes:
        return self._get(text, "png")

    def svg(self, text: str) -> bytes:
        return self._get(text, "svg")

    def _get(self, text: str, fmt: Format) -> bytes:
        key = (text, fmt)
        with self._lock:
            if (hit := self._items.get(key)) is not None:
                self._items.move_to_end(key)
                return hit
        image = render_png(text, box_size=self.box_size) if fmt == "png" else render_svg(text)
        with self._lock:
            self.renders += 1
            self._items[key] = image
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return image
