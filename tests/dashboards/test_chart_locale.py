"""The dashboards' SVG charts write their numbers as the rest of the page does, in the reader's
language: "25,0 %" in French, Portuguese and Spanish, not "25.0 %"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import translation

from lms.dashboards.charts import bar_chart, tile_map, trend_chart


def _tooltips(svg: str) -> list[str]:
    return re.findall(r"<title>(.*?)</title>", svg)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "25,0"), ("pt", "25,0"), ("es", "25,0"), ("en", "25.0")],
)
def test_the_map_tooltip_writes_the_rate_in_the_readers_notation(
    language: str, expected: str
) -> None:
    with translation.override(language):
        svg = str(
            tile_map(
                title="Map",
                tiles=[
                    ("CO", "Colombia", 1, Decimal("25.0"), "?member_state=CO"),
                    ("PE", "Peru", 0, None, "?member_state=PE"),
                ],
            )
        )
    colombia, peru = _tooltips(svg)
    assert expected in colombia
    assert re.match(r"Colombia\W+1 \(", colombia), colombia
    assert "25.0" not in colombia or language == "en"
    assert re.fullmatch(r"Peru\W+0", peru), peru


def test_the_map_tooltip_of_a_fraction_keeps_one_decimal() -> None:
    with translation.override("fr"):
        svg = str(tile_map(title="Map", tiles=[("BR", "Brésil", 3, Decimal("33.3"), "?x")]))
    assert "33,3" in _tooltips(svg)[0]


def test_the_bar_and_trend_charts_localise_their_numbers() -> None:
    """Whole numbers read the same in every language (no thousands separator on these pages),
    but go through the same formatting: a separator set for a language applies to them too."""
    with translation.override("fr"), override_settings(USE_THOUSAND_SEPARATOR=True):
        bars = str(bar_chart(title="Bars", labels=["A"], values=[12345], second=[2345]))
        trend = str(
            trend_chart(title="Trend", labels=["2026-01"], series=[("Enrolments", [12345], "#000")])
        )
    assert re.search(r">2\s345 / 12\s345</text>", bars), bars
    assert re.search(r">12\s345</text>", trend), trend
