"""Certificate PDFs with WeasyPrint: fonts and images shipped with the app, nothing fetched.

Speed: one shared FontConfiguration (fonts are loaded once and memory stays flat), the stylesheet
parsed once per process, and the page laid out once per run, language and day (`Sheet`); each
learner's fields (`Holder`) are then stamped onto that page (see certification.stamping), so a
certificate costs a stamp and a signature instead of a layout.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from certification import signing, stamping

APP_STATIC = Path(__file__).resolve().parent / "static" / "certification"


def _allowed_roots() -> list[Path]:
    return [APP_STATIC.resolve(), Path(settings.MEDIA_ROOT).resolve()]


class LocalOnlyFetcher(URLFetcher):
    """Serves files shipped with the app or uploaded to MEDIA_ROOT, and data: URLs; refuses the
    network and every other file, so a template can never make the renderer fetch anything."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlparse(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise ValueError(f"certificate rendering does not fetch {url!r}")
        path = Path(unquote(urlparse(url).path)).resolve()
        if not any(path.is_relative_to(root) for root in _allowed_roots()):
            raise ValueError(f"certificate rendering may not read {path}")
        return URLFetcherResponse(url, path.read_bytes())


@cache
def font_configuration() -> FontConfiguration:
    """One FontConfiguration for the process: re-creating it per render leaks memory."""
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    css = render_to_string(
        "certification/pdf/certificate.css",
        {"fonts": (APP_STATIC / "fonts").as_uri(), **stamping.layout_context()},
    )
    return CSS(string=css, font_config=font_configuration(), url_fetcher=LocalOnlyFetcher())


def preload_stylesheet() -> None:
    """Parse the stylesheet (and load its fonts) now rather than on the first certificate."""
    _stylesheet()


@dataclass(frozen=True)
class Face:
    """One language's text of a certificate (a bilingual certificate has two)."""

    language: str
    title: str
    mode: str = ""
    learning_outcomes: list[str] = field(default_factory=list)
    assessment_type: str = ""
    signatory_title: str = ""
    second_signatory_title: str = ""
    country: str = ""


@dataclass(frozen=True)
class Sheet:
    """What all certificates of one run (or program), language and day have in common."""

    faces: list[Face]
    kind: str
    credit_hours: Decimal
    issued_on: date
    expires_on: date | None
    issuing_institution: str
    university_name: str = ""
    university_logo: str = ""
    accreditation: dict[str, Any] = field(default_factory=dict)
    signatory_name: str = ""
    signature_image: str = ""
    second_signatory_name: str = ""
    second_signature_image: str = ""
    course_titles: list[str] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.faces[0].language


@dataclass(frozen=True)
class Holder:
    """What is printed for one learner only."""

    name: str
    code: str
    display_code: str
    certificate_id: str
    verify_url: str


def qr_data_uri(url: str) -> str:
    """The QR code of `url` as an SVG data URI (vector, tiny, no file written)."""
    svg = segno.make(url, error="m", mask=0).svg_inline(scale=4, border=0)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def file_uri(path: str | None) -> str:
    """A file: URI for an uploaded image under MEDIA_ROOT, or "" when there is none."""
    if not path:
        return ""
    full = Path(settings.MEDIA_ROOT) / path
    return full.resolve().as_uri() if full.exists() else ""


def _verify_label(language: str) -> str:
    with translation.override(language):
        return gettext("Verify at")


def _find_box(box: Any, css_class: str) -> Any:
    element = getattr(box, "element", None)
    if element is not None and css_class in (element.get("class") or "").split():
        return box
    for child in getattr(box, "children", []):
        found = _find_box(child, css_class)
        if found is not None:
            return found
    return None


def certificate_html(sheet: Sheet, holder: Holder | None, palette: bool = False) -> str:
    """The HTML the PDF is laid out from, in the sheet's language (numbers and dates too)."""
    context: dict[str, Any] = {"c": sheet, "emblem": (APP_STATIC / "emblem.svg").as_uri()}
    if holder is not None:
        context["holder"] = {
            "name": holder.name,
            "qr": qr_data_uri(holder.verify_url),
            "verify_at": _verify_label(sheet.language),
            "verify_url": holder.verify_url,
            "display_code": holder.display_code,
            "certificate_id": holder.certificate_id,
        }
    if palette:
        context["palette"] = {"name": stamping.NAME_PALETTE, "text": stamping.TEXT_PALETTE}
    with translation.override(sheet.language):
        return render_to_string("certification/pdf/certificate.html", context)


def _render(sheet: Sheet, holder: Holder | None, palette: bool) -> tuple[bytes, float]:
    """(PDF, top of the name slot in points from the top of the page)."""
    html = certificate_html(sheet, holder, palette)
    document = HTML(
        string=html, base_url=APP_STATIC.as_uri() + "/", url_fetcher=LocalOnlyFetcher()
    ).render(stylesheets=[_stylesheet()], font_config=font_configuration())
    expected = 2 if palette else 1
    if len(document.pages) != expected:
        raise RuntimeError("a certificate must fit on one page")
    slot = _find_box(document.pages[0]._page_box, "name-slot")
    slot_top = slot.position_y * 0.75 if slot is not None else 0.0  # CSS px to points
    return document.write_pdf() or b"", slot_top


def render_full(sheet: Sheet, holder: Holder) -> bytes:
    """The certificate laid out in full by WeasyPrint (unsigned)."""
    return _render(sheet, holder, palette=False)[0]


def build_background(sheet: Sheet) -> stamping.Background:
    """The sheet laid out once, without any learner's fields, ready to be stamped."""
    pdf, slot_top = _render(sheet, None, palette=True)
    return stamping.Background.from_weasyprint(
        pdf, labels={"verify_at": _verify_label(sheet.language)}, name_slot_top=slot_top
    )


class _BackgroundCache:
    """The last few backgrounds of this process (a bulk job works through one run at a time)."""

    def __init__(self, size: int = 16) -> None:
        self._items: OrderedDict[str, stamping.Background] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str, sheet: Sheet) -> stamping.Background:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        background = build_background(sheet)
        with self._lock:
            self._items[key] = background
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return background


backgrounds = _BackgroundCache()


def signed_pdf(sheet_key: str, sheet: Sheet, holder: Holder) -> bytes:
    """The signed PDF of one certificate: stamped onto the run's background when every
    character of the learner's fields is in the palette, laid out in full otherwise."""
    background = backgrounds.get(sheet_key, sheet)
    try:
        writer = background.stamp(
            holder_name=holder.name,
            display_code=holder.display_code,
            certificate_id=holder.certificate_id,
            verify_url=holder.verify_url,
        )
    except stamping.MissingGlyph:
        return signing.sign_pdf(render_full(sheet, holder))
    return signing.sign_writer(writer)
