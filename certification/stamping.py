"""Render once, stamp many: the part of a certificate that is the same for a whole run is laid
out by WeasyPrint once; each learner's name, code, id, link and QR code are then written straight
into the PDF as a small content stream, using glyphs of the fonts already embedded.

The background PDF carries a second, "palette" page that WeasyPrint lays out with every character
a name or code may need, so the embedded font subsets contain those glyphs; that page is then
removed from the page tree. A character outside the palette makes `stamp` raise `MissingGlyph`
and the caller lays that certificate out in full instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

import segno
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

MM = 72 / 25.4
PAGE_WIDTH = 297 * MM
PAGE_HEIGHT = 210 * MM

# Where the stamped fields go (PDF points, origin bottom left). The background template leaves
# these places empty: the name goes in the slot WeasyPrint laid out (found in its layout), the QR
# code and the lines beside it at fixed places that certificate.css keeps free.
NAME_SLOT_TOP_MM = 50.0
NAME_BASELINE_IN_SLOT_MM = 9.0
NAME_SIZE = 20.0
NAME_MAX_WIDTH = 250 * MM
QR_SIZE_MM = 20.0
QR_RIGHT_MM = 19.0
QR_BOTTOM_MM = 15.0
TEXT_GAP_MM = 2.5

# Latin-1 letters and Latin Extended-A cover the names of the 34 member states' officers.
NAME_PALETTE = "".join(
    chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x100, 0x180)]
)
TEXT_PALETTE = NAME_PALETTE

FONT_NAME = "Cert-Serif-Bold"
FONT_CODE = "Cert-Sans-Bold"
FONT_TEXT = "Cert-Sans"


def layout_context() -> dict[str, float | str]:
    """The stamp positions, for the background template's stylesheet."""
    return {
        "name_slot_top_mm": NAME_SLOT_TOP_MM,
        "qr_size_mm": QR_SIZE_MM,
        "qr_right_mm": QR_RIGHT_MM,
        "qr_bottom_mm": QR_BOTTOM_MM,
        "name_palette": NAME_PALETTE,
        "text_palette": TEXT_PALETTE,
    }


class MissingGlyph(Exception):
    """A character to stamp is not in the embedded font subset."""


@dataclass(frozen=True)
class _Font:
    resource: str
    cids: dict[str, int]
    widths: dict[int, float]

    def encode(self, text: str) -> tuple[bytes, float]:
        """(hex string operand, width in 1/1000 em) of `text`."""
        try:
            cids = [self.cids[ch] for ch in text]
        except KeyError as exc:
            raise MissingGlyph(str(exc)) from None
        hex_cids = "".join(f"{cid:04x}" for cid in cids).encode()
        return b"<" + hex_cids + b">", sum(self.widths.get(cid, 600.0) for cid in cids)


_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]{4,8})>")


def _font_table(reader: PdfFileReader) -> dict[str, _Font]:
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    fonts = page["/Resources"]["/Font"]
    table: dict[str, _Font] = {}
    for resource, ref in fonts.items():
        font = ref.get_object()
        base = str(font["/BaseFont"]).lstrip("/").split("+", 1)[-1]
        cids: dict[str, int] = {}
        for cid_hex, uni_hex in _BFCHAR.findall(font["/ToUnicode"].get_object().data):
            text = bytes.fromhex(uni_hex.decode()).decode("utf-16-be")
            if len(text) == 1:
                cids.setdefault(text, int(cid_hex, 16))
        widths: dict[int, float] = {}
        w_array = font["/DescendantFonts"][0].get_object().get("/W", [])
        index = 0
        while index < len(w_array):
            first = int(w_array[index])
            following = w_array[index + 1]
            if isinstance(following, generic.ArrayObject | list):
                for offset, width in enumerate(following):
                    widths[first + offset] = float(width)
                index += 2
            else:
                for cid in range(first, int(following) + 1):
                    widths[cid] = float(w_array[index + 2])
                index += 3
        table[base] = _Font(str(resource).lstrip("/"), cids, widths)
    return table


@dataclass(frozen=True)
class Background:
    """A run's pre-rendered certificate page, ready to be stamped."""

    pdf: bytes
    fonts: dict[str, _Font]
    labels: dict[str, str]
    name_baseline: float

    @classmethod
    def from_weasyprint(
        cls, pdf: bytes, labels: dict[str, str], name_slot_top: float
    ) -> Background:
        """Drop the palette page and bracket the page content in q/Q so stamps start clean."""
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        pages_ref = writer.root.raw_get("/Pages")
        pages = pages_ref.get_object()
        first = pages["/Kids"].raw_get(0)
        pages["/Kids"] = generic.ArrayObject([first])
        pages["/Count"] = generic.NumberObject(1)
        writer.mark_update(pages_ref)
        page = first.get_object()
        content = page.raw_get("/Contents")
        data = content.get_object().data
        # WeasyPrint's content leaves q's open; close them all before stamping.
        opened = len(re.findall(rb"(?m)^q$", data)) - len(re.findall(rb"(?m)^Q$", data))
        save = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
        restore = writer.add_object(
            generic.StreamObject(stream_data=b"\nQ" * (max(opened, 0) + 1) + b"\n")
        )
        page["/Contents"] = writer.add_object(generic.ArrayObject([save, content, restore]))
        writer.mark_update(first)
        output = BytesIO()
        writer.write(output)
        result = output.getvalue()
        return cls(
            pdf=result,
            fonts=_font_table(PdfFileReader(BytesIO(result))),
            labels=labels,
            name_baseline=PAGE_HEIGHT - name_slot_top - NAME_BASELINE_IN_SLOT_MM * MM,
        )

    def _font(self, name: str) -> _Font:
        return self.fonts[name]

    def stamp(
        self, *, holder_name: str, display_code: str, certificate_id: str, verify_url: str
    ) -> IncrementalPdfFileWriter:
        """A writer holding the background with this learner's fields drawn on it (not yet
        written: the signer writes it together with the signature)."""
        ops: list[bytes] = [b"0.102 0.102 0.102 rg"]

        def text(font_name: str, size: float, value: str, x: float, y: float, align: str) -> None:
            font = self._font(font_name)
            operand, width = font.encode(value)
            advance = width * size / 1000
            if align == "center":
                x -= advance / 2
            elif align == "right":
                x -= advance
            ops.append(
                b"BT /%s %.2f Tf %.2f %.2f Td %s Tj ET"
                % (font.resource.encode(), size, x, y, operand)
            )

        _operand, name_width = self._font(FONT_NAME).encode(holder_name)
        size = min(NAME_SIZE, NAME_MAX_WIDTH * 1000 / max(name_width, 1))
        text(FONT_NAME, size, holder_name, PAGE_WIDTH / 2, self.name_baseline, "center")

        qr_size = QR_SIZE_MM * MM
        qr_x = PAGE_WIDTH - QR_RIGHT_MM * MM - qr_size
        qr_y = QR_BOTTOM_MM * MM
        right = qr_x - TEXT_GAP_MM * MM
        text(FONT_TEXT, 6.5, certificate_id, right, qr_y, "right")
        text(FONT_CODE, 11, display_code, right, qr_y + 9, "right")
        text(FONT_TEXT, 7, verify_url, right, qr_y + 23, "right")
        text(FONT_TEXT, 7, self.labels["verify_at"], right, qr_y + 32, "right")

        ops.append(b"0 0 0 rg")
        # A fixed mask spares segno scoring all eight (any mask gives a valid, readable code).
        matrix = segno.make(verify_url, error="m", mask=0).matrix
        module = qr_size / len(matrix)
        for row_index, row in enumerate(matrix):
            y = qr_y + qr_size - (row_index + 1) * module
            column = 0
            while column < len(row):
                if row[column]:
                    start = column
                    while column < len(row) and row[column]:
                        column += 1
                    ops.append(
                        b"%.3f %.3f %.3f %.3f re"
                        % (qr_x + start * module, y, (column - start) * module, module)
                    )
                else:
                    column += 1
        ops.append(b"f")

        writer = IncrementalPdfFileWriter(BytesIO(self.pdf), strict=False)
        stream = writer.add_object(generic.StreamObject(stream_data=b"\n".join(ops)))
        writer.add_stream_to_page(0, stream)
        return writer
