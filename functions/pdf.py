"""A minimal PDF writer: text in Helvetica and thin rules on A4 pages, reproducible byte for byte.

Why not a PDF library: an invoice needs text and lines only, and must come out the same,
byte for byte, every time it is rendered from the store. The 14 standard Type 1 fonts need
no embedding, and Helvetica with ``WinAnsiEncoding`` (Windows-1252) covers French: accents,
« », €, – and ’. Nothing here is random or dated by the clock: the creation date is the
caller's, the file identifier a hash of the content, and streams are left uncompressed
(zlib's output may change with its version; an invoice is a few kilobytes anyway).

Coordinates are PDF points (1/72 inch) from the bottom-left corner of an A4 page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

A4 = (595.28, 841.89)
Align = Literal["left", "right"]
_FONTS = {False: "F1", True: "F2"}

# Advance widths (1/1000 em) of the Windows-1252 bytes 32..255, from Adobe's AFM metrics
# of Helvetica and Helvetica-Bold: what right-aligning and wrapping need.
# fmt: off
_HELVETICA = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722,
    722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
    667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556,
    556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,
    500, 334, 260, 334, 584, 350, 556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333,
    1000, 350, 611, 350, 350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350,
    500, 667, 278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, 667, 667,
    667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778,
    778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, 556, 556, 556, 556, 556, 556,
    889, 500, 556, 556, 556, 556, 278, 278, 278, 278, 556, 556, 556, 556, 556, 556, 556, 584,
    611, 556, 556, 556, 556, 500, 556, 500,
)
_HELVETICA_BOLD = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722,
    722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722,
    667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611,
    611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556,
    500, 389, 280, 389, 584, 350, 556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333,
    1000, 350, 611, 350, 350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350,
    500, 667, 278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, 722, 722,
    722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778,
    778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, 556, 556, 556, 556, 556, 556,
    889, 556, 556, 556, 556, 556, 278, 278, 278, 278, 611, 611, 611, 611, 611, 611, 611, 584,
    611, 611, 611, 611, 611, 556, 611, 556,
)
# fmt: on
# Babel's French number format uses narrow no-break spaces, which Windows-1252 lacks.
_SUBSTITUTES = {"\u202f": "\xa0", "\u2009": " ", "\u2212": "-", "\u2010": "-", "\u2011": "-"}


def encode_text(text: str) -> bytes:
    """``text`` in Windows-1252: what has no place there loses its accent, else becomes "?"."""
    out = bytearray()
    for char in text:
        char = _SUBSTITUTES.get(char, char)
        if char in "\r\n\t" or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            char = " "
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("cp1252", "ignore")
            out += base or b"?"
    return bytes(out)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in points of ``text`` set in Helvetica (bold) at ``size``."""
    widths = _HELVETICA_BOLD if bold else _HELVETICA
    return sum(widths[b - 32] if b >= 32 else 0 for b in encode_text(text)) * size / 1000


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``text`` cut at spaces into lines no wider than ``width`` (a long word is cut too)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while text_width(word, size, bold) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and text_width(word[:cut], size, bold) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


@dataclass
class Page:
    """One page's drawing operations, in order."""

    operations: list[bytes] = field(default_factory=list)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        align: Align = "left",
    ) -> None:
        """``text`` on one line with its baseline at ``y``, starting (or, right-aligned,
        ending) at ``x``."""
        if align == "right":
            x -= text_width(text, size, bold)
        self.operations.append(
            b"BT /%s %s Tf %s %s Td (%s) Tj ET"
            % (_FONTS[bold].encode(), _num(size), _num(x), _num(y), _escape(encode_text(text)))
        )

    def rule(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.5) -> None:
        """A thin black line."""
        self.operations.append(
            b"%s w %s %s m %s %s l S" % (_num(width), _num(x1), _num(y1), _num(x2), _num(y2))
        )

    def shade(self, x: float, y: float, width: float, height: float, grey: float = 0.93) -> None:
        """A light grey rectangle (behind a table's header), ``y`` its bottom."""
        self.operations.append(
            b"%s g %s %s %s %s re f 0 g" % (_num(grey), _num(x), _num(y), _num(width), _num(height))
        )


def render(pages: Sequence[Page], *, title: str, created: dt.datetime) -> bytes:
    """The PDF file of ``pages`` (A4), titled ``title``, dated ``created`` (its metadata)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages' numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title %s /Producer (comptoir) /CreationDate (%s) >>"
        % (_text_string(title), _pdf_date(created)),
    ]
    kids = []
    for page in pages:
        content = b"\n".join(page.operations)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content) + 1, content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>"
            % (_num(A4[0]), _num(A4[1]), len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    identifier = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode()
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += (
        b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, identifier, identifier, xref)
    )
    return bytes(out)


def _num(value: float) -> bytes:
    """A number as PDF writes it: at most two decimals, no exponent, no "-0"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return (text if text != "-0" else "0").encode()


def _escape(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _text_string(text: str) -> bytes:
    """A metadata string in UTF-16 (any character), as hexadecimal."""
    return b"<FEFF%s>" % text.encode("utf-16-be").hex().upper().encode()


def _pdf_date(moment: dt.datetime) -> bytes:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%SZ").encode()
