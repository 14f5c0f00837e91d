"""The dashboards' SVG charts keep their labels inside the drawing."""

from __future__ import annotations

import re

from lms.dashboards.charts import trend_chart


def test_the_trends_month_labels_stay_inside_the_chart() -> None:
    svg = str(
        trend_chart(
            title="Monthly",
            labels=["2026-11", "2026-12"],
            series=[("Enrolments", [0, 4], "#1f5fa8"), ("Completions", [1, 0], "#b5541c")],
        )  # fmt: skip
    )
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    labels = re.findall(
        r'<text x="(\d+)" y="\d+" text-anchor="(\w+)" fill="#222">(\d{4}-\d{2})', svg
    )
    assert [(anchor, text) for _x, anchor, text in labels] == [
        ("middle", "2026-11"), ("end", "2026-12"),
    ]  # fmt: skip
    # 7 characters at 11 px: about 40 px wide; centred on the last point it crossed the edge.
    last_x = int(labels[-1][0])
    assert last_x <= width
    first_x = int(labels[0][0])
    assert first_x - 20 >= 0
    assert 'aria-label="Monthly"' in svg


def test_the_tile_map_is_a_group_of_named_links_readable_on_every_shade() -> None:
    """Its tiles are links: an svg of role img would hide them from screen readers (WCAG 4.1.2);
    each link is named by its state and figure; every label contrasts 4.5:1 or more with its
    tile, whatever the tile's shade (WCAG 1.4.3: 10 and 13 px labels are not large text)."""
    import re
    from decimal import Decimal

    from lms.dashboards.charts import EMPTY, _ink, _luminance, _shade, tile_map

    tiles = [
        ("CO", "Colombia", 12, Decimal("25.0"), "/dashboards/?member_state=1"),
        ("BR", "Brazil", 7, None, "/dashboards/?member_state=2"),
        ("HT", "Haiti", 0, None, "/dashboards/?member_state=3"),
    ]
    svg = str(tile_map(title="Completions by member state", tiles=tiles))
    assert 'role="group" aria-label="Completions by member state"' in svg
    assert 'role="img"' not in svg
    assert re.findall(r'<a href="[^"]+" aria-label="([^"]+)">', svg) == [
        "Colombia: 12 (25.0 %)",
        "Brazil: 7",
        "Haiti: 0",
    ]

    def contrast(one: str, other: str) -> float:
        lighter, darker = sorted((_luminance(one), _luminance(other)), reverse=True)
        return (lighter + 0.05) / (darker + 0.05)

    shades = [_shade(step / 100) for step in range(101)] + [EMPTY]
    assert min(contrast(fill, _ink(fill)) for fill in shades) >= 4.5
