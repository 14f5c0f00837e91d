"""The DPS dashboard in French in Chromium: figures, map, tables, and a completion made while the
page is open arriving live (Redis channel layer, Daphne, WebSocket) without a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lms.i18n import pick
from tests.conftest import login_cookie
from tests.courses.factories import RunFactory
from tests.dashboards.conftest import enrol, finish, finish_together
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.services,
    pytest.mark.usefixtures("without_certificate_issuance"),
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_dps_dashboard_in_french(
    asgi_live_server: str,
    browser: Any,
    network: dict[str, Any],
    officers: list[Any],
    institution: Any,
) -> None:
    dps = UserFactory(full_name="Claire Dubois", preferred_language="fr", is_staff=True)
    RoleAssignmentFactory(user=dps, role="dps_admin")
    finish(enrol(officers[1], network["virtual"]))
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.add_cookies([login_cookie(dps, asgi_live_server)])
    page = context.new_page()
    page.goto(f"{asgi_live_server}/dashboards/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord de la formation"
    assert page.locator("svg.tile-map").count() == 1
    assert page.get_by_role("table", name="Résultats par État membre").count() == 1
    page.wait_for_selector("[data-live=connected]", timeout=10000)
    assert page.locator('[data-counter="completed"]').inner_text() == "1"
    assert page.locator("#recent-completions li", has_text=officers[1].full_name).count() == 1
    # An officer completes the course while DPS looks: the page hears it through the WebSocket.
    # (A run of its own: courses' progress count is wrong for a second learner of a run, see
    # the report of this change.)
    run = RunFactory(host_institution=institution, course__owner_institution=institution)
    finish(enrol(officers[0], run))
    page.locator("#recent-completions li", has_text=officers[0].full_name).wait_for(timeout=10000)
    page.wait_for_function(
        "() => document.querySelector('[data-counter=\"completed\"]').textContent.trim() === '2'",
        timeout=10000,
    )
    latest = page.locator("#recent-completions li").first.inner_text()
    assert latest.startswith(officers[0].full_name)
    # The course title in the same language as the rows the server rendered.
    assert str(pick(run.course.title, "fr")) in latest
    # Two officers complete together (as a run's released grades do): one batch, both listed.
    together = RunFactory(host_institution=institution, course__owner_institution=institution)
    finish_together([enrol(officer, together) for officer in officers[2:]])
    page.wait_for_function(
        "() => document.querySelector('[data-counter=\"completed\"]').textContent.trim() === '4'",
        timeout=10000,
    )
    for officer in officers[2:]:
        assert page.locator("#recent-completions li", has_text=officer.full_name).count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboards-dps-fr.png"), full_page=True)
    context.close()


REFLOWS = """() => ({
    page: document.documentElement.scrollWidth - window.innerWidth,
    wraps: Array.from(document.querySelectorAll('main table')).map(t => {
        const wrap = t.closest('.table-wrap');
        return wrap ? wrap.scrollWidth > wrap.clientWidth : null;
    }),
})"""


def test_pages_reflow_on_a_narrow_phone(
    asgi_live_server: str, browser: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    """WCAG 1.4.10 at 320 CSS pixels: the page never scrolls sideways; a wide table scrolls in
    its own region, and long values (an e-mail address) wrap."""
    dps = UserFactory(
        full_name="Claire Dubois",
        email="claire.dubois.coordination-regionale@formation-policiere.example.org",
        is_staff=True,
    )
    RoleAssignmentFactory(user=dps, role="dps_admin")
    finish(enrol(officers[1], network["virtual"]))
    context = browser.new_context(viewport={"width": 320, "height": 700})
    context.add_cookies([login_cookie(dps, asgi_live_server)])
    page = context.new_page()
    for path in ("/dashboards/", "/accounts/account/", "/certificates/verify-many"):
        page.goto(f"{asgi_live_server}{path}")
        found = page.evaluate(REFLOWS)
        assert found["page"] <= 0, path
        assert None not in found["wraps"], path  # every table in a scrolling region
    page.goto(f"{asgi_live_server}/dashboards/")
    wraps = page.evaluate(REFLOWS)["wraps"]
    assert any(wrap is True for wrap in wraps)  # the results table is wider than a phone
    context.close()


FOCUS = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const s = getComputedStyle(e);
    return {id: e.id || e.tagName, ringed: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
            || s.boxShadow !== 'none'};
}"""


def test_every_keyboard_stop_of_the_dashboard_shows_its_focus(
    asgi_live_server: str, browser: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    """WCAG 2.4.7: tabbing through the dashboard (its filters, the month fields' calendar
    buttons inside them, links, the map's tiles), every stop shows a focus ring."""
    dps = UserFactory(is_staff=True)
    RoleAssignmentFactory(user=dps, role="dps_admin")
    finish(enrol(officers[1], network["virtual"]))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([login_cookie(dps, asgi_live_server)])
    page = context.new_page()
    page.goto(f"{asgi_live_server}/dashboards/")
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS)
        if stop is None:
            break
        stops.append(stop)
    assert sum(1 for stop in stops if stop["id"] == "since") >= 2  # the field and its button
    assert [stop for stop in stops if not stop["ringed"]] == []
    context.close()
