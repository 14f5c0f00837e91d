"""In Chromium: every piece of text on the pages each kind of person uses contrasts with what is
behind it by 4.5:1 or more (3:1 for large text), as WCAG 2.1 AA asks (1.4.3), in the colours
the browser computes: links, badges, help and error text, the header, the footer, buttons, table
headers and notices. Focused controls show an outline (2.4.7)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import login_cookie

# For every element with its own visible text: its colour and the first opaque background of
# it or its ancestors (the page's white at the top), both as the browser computes them, and the
# ratio of their relative luminances. Colours with transparency are blended over what is behind.
LOW_CONTRAST = """
() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3]));
  const background = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let colour = [255, 255, 255];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour; };
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility !== "visible" || style.display === "none" || box.width <= 1 ||
        box.height <= 1 || el.closest(".visually-hidden, [hidden], .skip-link")) continue;
    const back = background(el);
    const fore = over(parse(style.color), back);
    const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) found.push(`${el.tagName.toLowerCase()}.${el.className} ` +
      `"${el.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}:1`);
  }
  return found;
}
"""

# Each person and the pages they use (the demo's people and addresses).
PAGES = {
    "learner@demo.lms": ["/", "/courses/", "/courses/my-learning/", "/certificates/",
                         "/community/", "/accounts/notifications/", "/accounts/account/"],
    "instructor@demo.lms": ["/courses/teaching/", "/courses/runs/human-rights-bogota/roster/",
                            "/assessments/grading/"],
    "coordinator@demo.lms": ["/courses/enrolments/", "/courses/supervision/",
                             "/accounts/import/"],
    "validator@demo.lms": ["/accreditation/"],
    "dps@demo.lms": ["/dashboards/", "/dashboards/reports/", "/courses/author/"],
    None: ["/accounts/login/", "/verify/", "/verify/NO-SUCH-CODE", "/no/such/page/"],
}  # fmt: skip


@pytest.fixture
def demo(transactional_db: None) -> None:
    """The demo's data, loaded before the browser starts (its signals reach the channel layer
    through async_to_sync, which cannot run beside Playwright's event loop)."""
    call_command("seed_demo", stdout=io.StringIO())


def test_text_contrasts_and_focus_shows_on_every_kind_of_page(
    demo: None, live_server: Any, browser: Any
) -> None:
    from courses.models import Enrollment
    from lms.accounts.models import User

    learner = User.objects.get(email="learner@demo.lms")
    seat = Enrollment.objects.filter(user=learner, status=Enrollment.Status.ACTIVE).first()
    assert seat is not None
    pages = {**PAGES}
    pages["learner@demo.lms"] = [*PAGES["learner@demo.lms"], f"/courses/learn/{seat.registration}/"]
    failures: dict[str, list[str]] = {}
    for email, addresses in pages.items():
        context = browser.new_context()
        if email is not None:
            context.add_cookies([login_cookie(User.objects.get(email=email), live_server.url)])
        page = context.new_page()
        for address in addresses:
            answer = page.goto(live_server.url + address)
            assert answer is not None
            assert answer.status == (404 if "NO-SUCH" in address or "/no/" in address else 200), (
                address
            )
            found = page.evaluate(LOW_CONTRAST)
            if found:
                failures[f"{email} {address}"] = found
        # a control focused from the keyboard shows an outline
        page.goto(live_server.url + addresses[0])
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
        )
        if outline[1] == "none" or outline[2] == "0px":
            failures[f"{email} focus"] = [f"{outline[0]} focused shows no outline"]
        context.close()
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
