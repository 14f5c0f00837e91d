"""Every page the demo's people reach by following links, checked for what WCAG 2.1 AA asks of
markup: the page's language, a title, one main landmark and the skip link to it, a level-one
heading and no level skipped, a name for every form control, link, button and table, headers in
every table, text for every image, ids used once and every id referred to present, nothing
loaded from another site (learners on closed networks), and no text of the catalogues left in
English for a reader of another language. And no page reads row by row: each makes at most
MOST_QUERIES queries, and none makes more once every run, discussion and inbox holds more rows.

The crawl starts at each person's home page (and the pages that only a form or another role's
page leads to) and follows the links of the site: GET only, no sign-out, no files, at most three
addresses of one route. Each person reads the language of their profile, a visitor their
browser's; the page must say which (<html lang>)."""

from __future__ import annotations

import functools
import io
import re
import uuid
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext

pytestmark = pytest.mark.django_db

# The demo's people (loadtests seed_demo), one of each kind.
PEOPLE = [
    "learner@demo.lms",
    "officer.br@demo.lms",
    "officer.ht@demo.lms",
    "instructor@demo.lms",
    "coordinator@demo.lms",
    "validator@demo.lms",
    "dps@demo.lms",
    "donor@demo.lms",
]
# Some of the pages each person must reach (by the URL's name), among all they reach.
REACHES = {
    "learner@demo.lms": ["courses:my_learning", "courses:lesson", "assessments:take",
                         "community:thread", "community:chat", "certification:verify_form"],
    "officer.br@demo.lms": ["courses:my_learning", "community:home"],
    "officer.ht@demo.lms": ["courses:my_learning", "community:home"],
    "instructor@demo.lms": ["courses:teaching", "courses:roster", "assessments:grade",
                            "courses:attendance", "assessments:practical"],
    "coordinator@demo.lms": ["courses:roster", "courses:institution_enrollments",
                             "courses:supervise_run", "accounts:import_officers"],
    "validator@demo.lms": ["accreditation:index", "accreditation:detail"],
    "dps@demo.lms": ["dashboards:home", "dashboards:run", "courses:author_lesson",
                     "accreditation:detail", "courses:deliver"],
    "donor@demo.lms": ["dashboards:home"],
    "anonymous": ["accounts:login", "accounts:password_reset", "courses:catalogue"],
}  # fmt: skip
# Pages per person: enough to reach every kind of page the demo holds.
MOST_PAGES = 300
# Queries a page may make (the busiest the demo's people reach make 10 at most: the person,
# the page's own rows with what they show joined or prefetched, the counts): a page over it
# reads row by row, or has grown a query to review. The dashboard computes its blocks' figures
# on a first view with filters (then cached): 17 by member state and institution.
MOST_QUERIES = 12
MOST_QUERIES_OF = {"dashboards:home": 18}
if not settings.IS_POSTGRES:
    # A lesson's first view on another database (SQLite on a bare laptop) takes the portable
    # path (courses.services.visit_lesson): the enrolment and its progress read again, the
    # statements' and the dashboards' writes one query each, where PostgreSQL's first view
    # writes them in a few statements: up to four more, the resume page that leads to it
    # included (whether the outline was cached already moves it by one); still fixed.
    MOST_QUERIES_OF |= {"courses:resume": 16, "courses:lesson": 16}
# Addresses per route (the same page of another forum, run or attempt adds little).
PER_ROUTE = 3
# Addresses not followed: signing out, Django's admin (its own markup), files, the API.
NOT_FOLLOWED = re.compile(
    r"^/(admin/|static/|media/|api/|xapi/|accounts/logout)|\.(csv|pdf|zip|json)$|/(csv|pdf|download|export)/?$"
)
NAMED_INPUTS_EXEMPT = {"hidden", "submit", "button", "reset", "image"}
INTERACTIVE_NEEDING_NAME = {"a", "button"}


class _Page(HTMLParser):
    """What the checks need of one page, read in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang = ""
        self.title = ""
        self.mains = 0
        self.h1 = 0
        self.ids: Counter[str] = Counter()
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict[str, str], bool]] = []  # tag, attrs, inside a label
        self.links: list[str] = []
        self.external: list[str] = []
        self.unnamed: list[str] = []
        self.images_without_alt: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self.skip_targets: list[str] = []
        self.main_ids: list[str] = []
        self._stack: list[dict[str, Any]] = []  # the open a, button and title elements
        self.references: list[tuple[str, str]] = []
        self.texts: set[str] = set()  # what a person reads: text and the attributes read aloud
        # the page's POST forms: action, hidden values, names of the fields a person fills and
        # of those marked required
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._labels = 0
        self._level = 0
        self.skipped: list[str] = []

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        for name in ("aria-label", "title", "placeholder", "alt"):
            if attrs.get(name):
                self.texts.add(" ".join(attrs[name].split()))
        if attrs.get("id"):
            self.ids[attrs["id"]] += 1
        for name in ("aria-labelledby", "aria-describedby", "aria-controls"):
            self.references += [(name, target) for target in attrs.get(name, "").split()]
        if tag == "form" and attrs.get("method", "get").lower() == "post":
            self._form = {"action": attrs.get("action", ""), "hidden": {}, "fields": set(),
                          "required": set()}  # fmt: skip
            self.forms.append(self._form)
        elif tag == "form":
            self._form = None
        if self._form is not None and tag in ("input", "select", "textarea") and attrs.get("name"):
            kind = attrs.get("type", "text").lower() if tag == "input" else tag
            if kind == "hidden":
                self._form["hidden"][attrs["name"]] = attrs.get("value", "")
            elif kind not in NAMED_INPUTS_EXEMPT:
                self._form["fields"].add(attrs["name"])
                if "required" in attrs:
                    self._form["required"].add(attrs["name"])
        if tag == "html":
            self.html_lang = attrs.get("lang", "")
        elif tag == "main" or attrs.get("role") == "main":
            self.mains += 1
            if attrs.get("id"):
                self.main_ids.append(attrs["id"])
        elif re.fullmatch(r"h[1-6]", tag):
            level = int(tag[1])
            self.h1 += level == 1
            if level > self._level + 1:
                self.skipped.append(f"h{self._level} then h{level}")
            self._level = level
        elif tag == "label":
            self._labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
                self.references.append(("label for", attrs["for"]))
        elif tag in ("input", "select", "textarea"):
            kind = attrs.get("type", "text").lower() if tag == "input" else tag
            if kind not in NAMED_INPUTS_EXEMPT:
                self.controls.append((tag, attrs, self._labels > 0))
        elif tag == "img":
            if "alt" not in attrs:
                self.images_without_alt.append(attrs.get("src", "?"))
            for element in self._stack:
                if element["tag"] in INTERACTIVE_NEEDING_NAME and attrs.get("alt"):
                    element["text"] += attrs["alt"]
        elif tag == "table":
            self.tables.append(
                {
                    "th": 0,
                    "caption": False,
                    "label": bool(attrs.get("aria-label") or attrs.get("aria-labelledby")),
                }
            )
        elif tag == "th" and self.tables:
            self.tables[-1]["th"] += 1
        elif tag == "caption" and self.tables:
            self.tables[-1]["caption"] = True
        for name in ("src", "href", "action", "data"):
            value = attrs.get(name, "")
            if tag == "a" and name == "href":
                continue
            host = urlsplit(value).netloc
            if host and host not in ("testserver",):
                self.external.append(f"<{tag} {name}={value}>")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
            if attrs["href"].startswith("#") and not self.skip_targets:
                self.skip_targets.append(attrs["href"][1:])
        if tag in INTERACTIVE_NEEDING_NAME or tag == "title":
            name = attrs.get("aria-label", "") or attrs.get("title", "")
            if attrs.get("aria-labelledby"):
                name = "(labelledby)"
            self._stack.append({"tag": tag, "text": name, "attrs": attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "label":
            self._labels = max(0, self._labels - 1)
        if tag in INTERACTIVE_NEEDING_NAME or tag == "title":
            for i in range(len(self._stack) - 1, -1, -1):
                if self._stack[i]["tag"] == tag:
                    element = self._stack.pop(i)
                    if tag == "title":
                        self.title = element["text"].strip()
                    elif not element["text"].strip() and not (
                        tag == "a" and "href" not in element["attrs"]
                    ):
                        self.unnamed.append(f"<{tag} {element['attrs']}>")
                    break

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.add(" ".join(data.split()))
        for element in self._stack:
            element["text"] += data


@functools.cache
def _endonyms() -> frozenset[str]:
    names = set()
    for code, name in settings.LANGUAGES:
        with translation.override(code):
            names.add(str(name))
    return frozenset(names)


def problems(html: str, language: str) -> tuple[list[str], _Page]:
    page = _Page()
    page.feed(html)
    found = []
    if page.html_lang != language:
        found.append(f"<html lang={page.html_lang!r}>, not the reader's {language!r}")
    if not page.title:
        found.append("no <title>")
    if page.mains != 1:
        found.append(f"{page.mains} main landmarks")
    if page.h1 < 1:
        found.append("no <h1>")
    found += [f"heading level skipped: {jump}" for jump in page.skipped]
    if page.main_ids and (not page.skip_targets or page.skip_targets[0] not in page.main_ids):
        found.append(f"first link is not a skip link to main: {page.skip_targets}")
    for tag, attrs, in_label in page.controls:
        named = (
            in_label
            or attrs.get("id", "\0") in page.label_for
            or attrs.get("aria-label")
            or attrs.get("aria-labelledby")
            or attrs.get("title")
        )
        if not named:
            found.append(f"control without a name: <{tag} {attrs}>")
    found += [f"no accessible name: {entry}" for entry in page.unnamed]
    found += [f"image without alt: {src}" for src in page.images_without_alt]
    found += ["table without headers" for table in page.tables if not table["th"]]
    found += ["table without caption or label" for table in page.tables
              if not (table["caption"] or table["label"])]  # fmt: skip
    found += [f"id used {n} times: {id_}" for id_, n in page.ids.items() if n > 1]
    found += [f"{name} names no element: {target}" for name, target in page.references
              if target not in page.ids]  # fmt: skip
    found += [f"loads from another site: {what}" for what in page.external]
    # text of the catalogues shown in English to a reader of another language (a string
    # translated when its module was imported, or outside any request's language); the
    # language switcher names each language in that language
    with translation.override(language):
        found += [f"not in the reader's language: {text!r}" for text in sorted(page.texts)
                  if language != "en" and text not in _endonyms() and gettext(text) != text]  # fmt: skip
    return found, page


def _demo_with_more() -> None:
    """The demo, and what it lacks for some pages: a discussion with a reply in a topic forum,
    and an attempt in progress of the learner's quiz."""
    from assessments.models import Assessment
    from assessments.services import start_attempt
    from community.models import Forum
    from community.services import reply, start_thread
    from courses.models import Enrollment
    from lms.accounts.models import User

    call_command("seed_demo", stdout=io.StringIO())
    learner = User.objects.get(email="learner@demo.lms")
    forum = Forum.objects.filter(kind=Forum.Kind.TOPIC).order_by("pk").first()
    assert forum is not None
    thread = start_thread(forum=forum, author=learner, title="Patrullaje", text="¿Qué opinan?")
    reply(thread=thread, author=User.objects.get(email="instructor@demo.lms"), text="De acuerdo.")
    for enrollment in Enrollment.objects.filter(user=learner, status=Enrollment.Status.ACTIVE):
        assessment = Assessment.objects.filter(lesson__version_id=enrollment.version_id).first()
        if assessment is not None:
            start_attempt(assessment=assessment, enrollment=enrollment, actor=learner)
            return
    raise AssertionError("the demo learner has no assessment to start")


def _more_addresses(email: str) -> list[str]:
    """Pages no link reaches by GET (a form leads there, or a page of another role links
    them): each person's start list besides the home page."""
    from assessments.models import Assessment, Attempt
    from courses.models import CourseRun, Enrollment, Lesson, Module
    from lms.accounts.models import User

    if email == "anonymous":
        return ["/accounts/login/", "/accounts/password-reset/", "/courses/", "/verify/"]
    person = User.objects.get(email=email)
    addresses = [reverse("community:search") + "?q=Patrullaje"]
    attempt = Attempt.objects.filter(enrollment__user=person).order_by("pk").first()
    if attempt is not None:
        addresses.append(reverse("assessments:take", args=[attempt.pk]))
    runs = CourseRun.objects.order_by("pk")
    seat = Enrollment.objects.filter(user=person, status=Enrollment.Status.ACTIVE).first()
    if seat is not None:
        addresses += [reverse("community:run_forum", args=[seat.run_id]),
                      reverse("community:chat", args=[seat.run_id])]  # fmt: skip
    for run in runs:
        addresses += [reverse("courses:observe", args=[run.code]),
                      reverse("courses:supervise_run", args=[run.code]),
                      reverse("dashboards:run", args=[run.pk]),
                      reverse("courses:deliver", args=[run.course.code])]  # fmt: skip
        practical = Assessment.objects.filter(
            kind=Assessment.Kind.PRACTICAL, lesson__version_id=run.version_id
        ).first()
        if practical is not None:
            addresses.append(reverse("assessments:practical", args=[run.code, practical.pk]))
    for module in Module.objects.select_related("version__course").order_by("pk")[:2]:
        code = module.version.course.code
        addresses.append(reverse("courses:author_module", args=[code, module.pk]))
        lesson = Lesson.objects.filter(module=module).first()
        if lesson is not None:
            addresses.append(reverse("courses:author_lesson", args=[code, lesson.pk]))
    if person.institution_id:
        addresses.append(reverse("community:institution_forum", args=[person.institution_id]))
    return addresses


def _crawl(
    email: str, counts: dict[str, int] | None = None, *, load: bool = True
) -> tuple[Client, str, set[str], dict[str, list[str]], list[Any]]:
    """Follow the links of the site as `email` would: the client, the reader's language, the
    addresses read, the problems found on them and the POST forms seen (with their page); the
    queries each address made into `counts`. `load`: the demo's data first."""
    from lms.accounts.models import User

    counts = {} if counts is None else counts
    if load:
        _demo_with_more()
    # a visitor's browser asks for Portuguese; a person reads the language of their profile
    client = Client(raise_request_exception=True, HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9")
    language = "pt"
    if email != "anonymous":
        person = User.objects.get(email=email)
        client.force_login(person)
        language = person.preferred_language or language
    queue, seen, failures = ["/", *_more_addresses(email)], set(), {}
    forms: list[Any] = []
    counts.clear()
    per_route: Counter[str] = Counter()
    while queue and len(seen) < MOST_PAGES:
        address = queue.pop(0)
        if address in seen:
            continue
        try:
            route = resolve(urlsplit(address).path).route
        except Resolver404:
            route = address
        per_route[route] += 1
        if per_route[route] > PER_ROUTE:
            continue
        seen.add(address)
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(address, follow=True)
        try:
            view = resolve(urlsplit(address).path).view_name
        except Resolver404:
            view = ""
        if len(queries) > MOST_QUERIES_OF.get(view, MOST_QUERIES):
            failures.setdefault(address, []).append(f"{len(queries)} queries")
        counts[address] = len(queries)
        if answer.status_code != 200 or "text/html" not in answer.get("Content-Type", ""):
            continue
        if answer.redirect_chain:
            address = urljoin(address, answer.redirect_chain[-1][0])
            seen.add(address)
        found, page = problems(answer.content.decode(), language)
        if found:
            failures.setdefault(address, []).extend(found)
        forms += [(address, form) for form in page.forms]
        for href in page.links:
            target, _fragment = urldefrag(urljoin(address, href))
            parts = urlsplit(target)
            if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if "page=" in parts.query and not parts.query.startswith("page=2"):
                continue
            if path not in seen and not NOT_FOLLOWED.search(parts.path):
                queue.append(path)
    return client, language, seen, failures, forms


@pytest.mark.parametrize("email", [*PEOPLE, "anonymous"])
def test_every_page_a_person_reaches_meets_the_markup_rules(email: str) -> None:
    _client, _language, seen, failures, _forms = _crawl(email)
    report = "\n".join(f"{a}:\n  " + "\n  ".join(sorted(set(p))) for a, p in failures.items())
    reached = set()
    for address in seen:
        try:
            reached.add(resolve(urlsplit(address).path).view_name)
        except Resolver404:
            continue
    # the crawl reaches each person's own kinds of page (it has not shrunk with the demo)
    assert set(REACHES[email]) <= reached, sorted(set(REACHES[email]) - reached)
    assert not failures, report


ERROR_SHOWN = re.compile(r'class="[^"]*\b(error|error-summary|message-error)\b|role="alert"')


@pytest.mark.parametrize("email", [*PEOPLE, "anonymous"])
def test_every_form_sent_empty_is_refused_with_an_error_in_the_readers_language(
    email: str,
) -> None:
    """Each POST form the crawl met that has required fields, sent with those fields empty (as
    a browser without the `required` check would): nothing is done, and the answer shows an
    error (on the form's page or, after a redirect, as a message) that meets the page rules,
    in the reader's language."""
    client, language, _seen, _failures, forms = _crawl(email)
    tried: set[str] = set()
    failures = {}
    for address, form in forms:
        if not form["required"]:
            continue
        action = urljoin(address, form["action"] or address)
        route = resolve(urlsplit(action).path).route
        if route in tried:
            continue
        tried.add(route)
        data = {**form["hidden"], **{name: "" for name in form["fields"]}}
        answer = client.post(action, data, follow=True)
        html = answer.content.decode()
        found = []
        if answer.status_code not in (200, 400, 422):
            found.append(f"answered {answer.status_code}")
        elif not ERROR_SHOWN.search(html):
            found.append("no error shown")
        else:
            found += problems(html, language)[0]
        if found:
            failures[f"{action} (from {address})"] = found
    report = "\n".join(f"{a}:\n  " + "\n  ".join(sorted(set(p))) for a, p in failures.items())
    assert tried or email.startswith("officer") or email == "donor@demo.lms", "no form to try"
    assert not failures, report


def _more_of_everything() -> None:
    """Three more officers in every run (each institution's, enrolled as coordinators do), three
    more replies in every discussion and three more notifications for everyone: more rows on
    every list, table and count the crawl reads."""
    from community.models import Thread
    from community.services import reply
    from courses.models import CourseRun
    from courses.services import enrol
    from lms.accounts.models import RoleAssignment, User
    from lms.accounts.notifications import notify
    from tests.factories import UserFactory

    for run in CourseRun.objects.select_related("host_institution").order_by("pk"):
        host = run.host_institution
        coordinator = (
            User.objects.filter(roles__role="coordinator", roles__institution=host).first()
            or User.objects.filter(roles__role="dps_admin").first()
        )
        for _ in range(3):
            officer = UserFactory(institution=host)
            RoleAssignment.objects.create(user=officer, role="learner", institution=host)
            enrol(user=officer, run=run, actor=coordinator)
    for thread in Thread.objects.select_related("author").order_by("pk"):
        for _ in range(3):
            reply(
                thread=thread, author=thread.author, text=f"Otra respuesta {uuid.uuid4().hex[:8]}."
            )
    people = list(User.objects.all())
    for n in range(3):
        notify(recipients=people, subject=f"Aviso {n} {uuid.uuid4().hex[:8]}", body="Texto")


@pytest.mark.parametrize("email", ["learner@demo.lms", "instructor@demo.lms",
                                   "coordinator@demo.lms", "dps@demo.lms"])  # fmt: skip
def test_no_page_reads_more_queries_when_it_shows_more_rows(email: str) -> None:
    """The crawl with some of everything, then again with more (officers in every run, replies,
    notifications): no address makes more queries than it did (a page that reads row by row
    would)."""
    from django.core.cache import cache

    from courses.caching import clear_local

    def forget_cached() -> None:
        # Redis's entries and this process's copies of them: a copy an earlier test left (the
        # catalogue's, for a minute) would make the first crawl read nothing and the second,
        # once it expired, read what the page reads
        cache.clear()
        clear_local()

    before: dict[str, int] = {}
    # rows on every list before (a list that goes from none to some may add a query once: its
    # prefetches run only when there are rows), then as many again
    _demo_with_more()
    _more_of_everything()
    forget_cached()
    _crawl(email, before, load=False)
    _more_of_everything()
    forget_cached()
    after: dict[str, int] = {}
    _crawl(email, after, load=False)
    grew = {a: (before[a], n) for a, n in after.items() if a in before and n > before[a]}
    assert len(set(before) & set(after)) > 20
    assert not grew, grew
