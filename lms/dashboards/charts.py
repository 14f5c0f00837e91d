"""Charts drawn on the server as inline SVG: no JavaScript library, nothing fetched.

Each chart is decorative next to the accessible table that carries the same numbers: the SVG has
role="img" and a text alternative, and the table follows it on the page. Its numbers are written
as the page's ("25,0" in French, Spanish and Portuguese), in the active language.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Colours with at least 3:1 contrast against white for the marks (WCAG 1.4.11).
BAR = "#1f5f99"
SECOND = "#b3541e"
EMPTY = "#e7ecf1"


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[int],
    second: Sequence[int] | None = None,
    legend: tuple[str, str] | None = None,
    limit: int = 12,
) -> SafeString:
    """Horizontal bars, largest first as given; `second` overlays a second series (for example
    completions over enrolments)."""
    labels, values = list(labels)[:limit], list(values)[:limit]
    overlay = list(second)[:limit] if second is not None else None
    top = max(values + (overlay or []) + [1])
    row, label_width, width = 26, 190, 620
    height = row * len(labels) + 30
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
            'xmlns="http://www.w3.org/2000/svg" font-size="12">',
            width,
            height,
            title,
        )
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        y = index * row + 4
        length = int((width - label_width - 60) * value / top)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" fill="#222">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                label_width - 6,
                y + 14,
                label[:30],
                label_width,
                y,
                max(length, 1),
                row - 8,
                BAR,
            )
        )
        text = number_format(value)
        if overlay is not None:
            inner = int((width - label_width - 60) * overlay[index] / top)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                    label_width,
                    y + 5,
                    max(inner, 0),
                    row - 18,
                    SECOND,
                )
            )
            text = f"{number_format(overlay[index])} / {number_format(value)}"
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="#222">{}</text>', label_width + length + 4, y + 14, text
            )
        )
    if legend:
        y = height - 8
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>'
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>',
                label_width,
                y - 9,
                BAR,
                label_width + 14,
                y,
                legend[0],
                label_width + 180,
                y - 9,
                SECOND,
                label_width + 194,
                y,
                legend[1],
            )
        )
    parts.append(mark_safe("</svg>"))  # noqa: S308 - a constant
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def trend_chart(
    *, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]]
) -> SafeString:
    """Lines over months: `series` is (name, values, colour)."""
    width, height, left, bottom = 620, 220, 40, 30
    count = max(len(labels), 1)
    top = max([1] + [value for _name, values, _colour in series for value in values])
    step = (width - left - 10) / max(count - 1, 1)
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
            'xmlns="http://www.w3.org/2000/svg" font-size="11">',
            width,
            height,
            title,
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#555"/>'
            '<text x="2" y="14" fill="#222">{}</text><text x="2" y="{}" fill="#222">0</text>',
            left,
            height - bottom,
            width - 5,
            height - bottom,
            number_format(top),
            height - bottom,
        ),
    ]
    for index, label in enumerate(labels):
        if count <= 12 or index % max(count // 12, 1) == 0:
            # The last month's label ends at its point: centred there, it ran past the edge.
            last = count > 1 and index == count - 1
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="{}" fill="#222">{}</text>',
                    int(left + index * step),
                    height - 10,
                    "end" if last else "middle",
                    label,
                )
            )
    for position, (name, values, colour) in enumerate(series):
        points = " ".join(
            f"{int(left + index * step)},{int((height - bottom) - (height - bottom - 20) * value / top)}"
            for index, value in enumerate(values)
        )
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>'
                '<rect x="{}" y="4" width="10" height="10" fill="{}"/><text x="{}" y="13">{}</text>',
                points,
                colour,
                left + 20 + position * 150,
                colour,
                left + 34 + position * 150,
                name,
            )
        )
    parts.append(mark_safe("</svg>"))  # noqa: S308 - a constant
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


# A tile grid of the 34 member states, placed roughly as on a map (column, row).
TILES: dict[str, tuple[int, int]] = {
    "CA": (1, 0),
    "US": (1, 1),
    "MX": (0, 2),
    "BS": (3, 2),
    "BZ": (1, 3),
    "GT": (0, 3),
    "JM": (2, 3),
    "HT": (3, 3),
    "DO": (4, 3),
    "KN": (5, 3),
    "AG": (6, 3),
    "HN": (1, 4),
    "SV": (0, 4),
    "DM": (6, 4),
    "LC": (6, 5),
    "VC": (5, 5),
    "BB": (7, 5),
    "NI": (1, 5),
    "GD": (5, 6),
    "TT": (6, 6),
    "CR": (1, 6),
    "PA": (2, 6),
    "VE": (4, 6),
    "GY": (5, 7),
    "SR": (6, 7),
    "CO": (3, 7),
    "EC": (2, 8),
    "BR": (5, 8),
    "PE": (3, 9),
    "BO": (4, 9),
    "PY": (5, 10),
    "CL": (3, 10),
    "AR": (4, 11),
    "UY": (5, 11),
}


def tile_map(
    *, title: str, tiles: Sequence[tuple[str, str, int, Decimal | None, str]]
) -> SafeString:
    """The member states as a tile grid shaded by value: (code, name, value, rate, link)."""
    size, gap = 52, 4
    top = max([1] + [value for _code, _name, value, _rate, _link in tiles])
    width, height = 8 * (size + gap), 12 * (size + gap)
    parts = [
        format_html(
            # a group, not an image: its tiles are links, which an image would hide from
            # screen readers (WCAG 4.1.2)
            '<svg class="chart tile-map" viewBox="0 0 {} {}" role="group" aria-label="{}" '
            'xmlns="http://www.w3.org/2000/svg" font-size="13">',
            width,
            height,
            title,
        )
    ]
    for code, name, value, rate, link in tiles:
        column, row = TILES.get(code, (7, 11))
        x, y = column * (size + gap), row * (size + gap)
        share = value / top if value else 0
        fill = _shade(share) if value else EMPTY
        ink = _ink(fill)
        count = number_format(value)
        tooltip = (
            _("%(state)s: %(count)s") % {"state": name, "count": count}
            if rate is None
            else _("%(state)s: %(count)s (%(rate)s %%)")
            % {"state": name, "count": count, "rate": number_format(rate, decimal_pos=1)}
        )
        parts.append(
            format_html(
                '<a href="{}" aria-label="{}"><title>{}</title>'
                '<rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}" stroke="#fff"/>'
                '<text x="{}" y="{}" text-anchor="middle" fill="{}" font-weight="bold">{}</text>'
                '<text x="{}" y="{}" text-anchor="middle" fill="{}" font-size="10">{}</text></a>',
                link,
                tooltip,
                tooltip,
                x,
                y,
                size,
                size,
                fill,
                x + size // 2,
                y + 22,
                ink,
                code,
                x + size // 2,
                y + 40,
                ink,
                count,
            )
        )
    parts.append(mark_safe("</svg>"))  # noqa: S308 - a constant
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _ink(fill: str) -> str:
    """Black or white, whichever contrasts more with `fill` (at least 4.6:1 on every shade of
    the map: its 10 and 13 px labels are not large text, WCAG 1.4.3 asks 4.5:1)."""
    background = _luminance(fill)
    on_white = (1.0 + 0.05) / (background + 0.05)
    on_black = (background + 0.05) / 0.05
    return "#ffffff" if on_white >= on_black else "#000000"


def _shade(share: float) -> str:
    """From a light to a dark blue as `share` goes from 0 to 1."""
    light, dark = (198, 219, 239), (8, 48, 107)
    mix = [int(a + (b - a) * min(max(share, 0.0), 1.0)) for a, b in zip(light, dark, strict=True)]
    return "#" + "".join(f"{channel:02x}" for channel in mix)
