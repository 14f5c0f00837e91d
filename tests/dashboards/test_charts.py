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
