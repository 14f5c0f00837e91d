"""`{% chrome %}…{% endchrome %}`: page chrome rendered once per kind of visitor, filled per request.

The header of every page (navigation by role, language switcher, notification count, account and
sign-out links) costs more template work than many pages' own content, yet it varies only with
the language, whether someone is signed in, which role links they get, and whether they have
unread notifications. The block is rendered once per such variant, with markers standing in for
what belongs to one request (the person's name, the unread count, the CSRF token, the address to
come back to after switching language), kept in process memory, and the markers are replaced on
each request. The current page's navigation link gets its `aria-current="page"` at that point too.

`{% chrome "head" %}` and `{% chrome "footer" %}` keep the static links and the footer the
same way. A `{% block %}` inside a chrome block cannot be overridden by a child template.

Process memory is the right place: the output depends only on code and compiled translations,
which change only with a deploy, that is with new processes.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

from django import template
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.shortcuts import render
from django.template.base import Node, NodeList, Parser, Token
from django.template.loader import render_to_string
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from lms.compression import PARTS

register = template.Library()

NAME = "\ue000name\ue000"
NEXT = "\ue000next\ue000"
CSRF = "\ue000csrf\ue000"
UNREAD = "\ue000unread\ue000"
PATH = "\ue000path\ue000"
FLAGS = ("is_dps", "is_coordinator", "is_instructor", "is_validator", "is_donor")
MAX_VARIANTS = 2048

_rendered: dict[tuple[Any, ...], str] = {}


class _Request(SimpleNamespace):
    def get_full_path(self) -> str:
        return NEXT


class _User(SimpleNamespace):
    def get_short_name(self) -> str:
        return NAME


class ChromeNode(Node):
    # `{% extends %}` walks the parent's nodes for blocks on every render; the chrome's inside
    # is left out of that walk, so a {% block %} inside the chrome cannot be overridden.
    child_nodelists = ()

    def __init__(self, name: str, nodelist: NodeList) -> None:
        self.name = name
        self.nodelist = nodelist

    def render(self, context: template.Context) -> SafeString:
        request = context.get("request")
        token = str(context.get("csrf_token") or "")
        if request is None or not token or token == "NOTPROVIDED":  # noqa: S105 - Django's marker
            return mark_safe(self.nodelist.render(context))  # noqa: S308 - template output
        user: Any = context.get("user")
        variant = _variant(user)
        key = (self.name, get_language(), *variant)
        html = _rendered.get(key)
        if html is None:
            html = _render_variant(self.nodelist, context, variant)
            _remember(key, html)
        if context.get(KEEP_MARKERS):
            return mark_safe(html)  # noqa: S308 - template output; render_page fills it
        values = _fill_values(request, user, token, variant)
        return mark_safe(_fill(html, values))  # noqa: S308 - escaped


def _variant(user: Any) -> tuple[bool, tuple[bool, ...], bool]:
    """What the chrome's markup depends on: signed in, role links (and staff), any unread."""
    if user is None or not user.is_authenticated:
        return False, (), False
    from lms.accounts.permissions import get_scope
    from lms.accounts.principal import unread

    scope = get_scope(user)
    flags = tuple(bool(getattr(scope, flag, False)) for flag in FLAGS) + (bool(user.is_staff),)
    return True, flags, unread(user) > 0


def _render_variant(
    nodelist: NodeList, context: template.Context, variant: tuple[bool, tuple[bool, ...], bool]
) -> str:
    signed_in, flags, has_unread = variant
    roles = flags[: len(FLAGS)] or (False,) * len(FLAGS)
    scope_stand_in = SimpleNamespace(**dict(zip(FLAGS, roles, strict=True)))
    with context.push(
        request=_Request(path=PATH),
        user=_User(is_authenticated=signed_in, is_staff=bool(flags and flags[-1])),
        nav_scope=scope_stand_in,
        unread_notifications=UNREAD if has_unread else 0,
        csrf_token=CSRF,
    ):
        return str(nodelist.render(context))


def _remember(key: tuple[Any, ...], html: str) -> None:
    if len(_rendered) >= MAX_VARIANTS:
        _rendered.clear()
    _rendered[key] = html


def _fill_values(
    request: Any, user: Any, token: str, variant: tuple[bool, Any, bool]
) -> list[tuple[str, str]]:
    """The request's own parts, escaped, as (marker, value) pairs; computed once per request."""
    current = f'<li><a href="{escape(request.path)}">'
    pairs = [
        (current, current[:-1] + ' aria-current="page">'),
        (CSRF, escape(token)),
        (NEXT, escape(request.get_full_path())),
    ]
    if variant[0]:
        from lms.accounts.principal import unread

        pairs.append((NAME, escape(user.get_short_name())))
        if variant[2]:
            pairs.append((UNREAD, str(unread(user))))
    return pairs


def _fill(html: str, values: list[tuple[str, str]]) -> str:
    """The request's own parts in place of the markers (the current page's link once)."""
    (current, marked), *rest = values
    html = html.replace(current, marked, 1)
    for marker, value in rest:
        html = html.replace(marker, value)
    return html


# Whole pages: base.html around parts built in Python ------------------------------------------

TITLE = "\ue000title\ue000"
HEAD = "\ue000head\ue000"
CONTENT = "\ue000content\ue000"
SCRIPTS = "\ue000scripts\ue000"
PAGE_TEMPLATE = "page.html"
KEEP_MARKERS = "chrome_keep_markers"
_shells: dict[tuple[Any, ...], list[str]] = {}


def render_page(
    request: HttpRequest,
    *,
    title: str,
    content: str,
    head: str = "",
    scripts: str = "",
    status: int = 200,
    shared_content: bool = False,
) -> HttpResponse:
    """page.html with this title, head, content and scripts (escaped unless marked safe, as
    in the template), mostly without the template engine: the page is rendered once per
    language and kind of visitor with markers in place of the four parts and of the chrome's
    per-request parts, kept in process memory, and filled per request. The parts go in after
    the markers are filled, so nothing in them is ever taken for a marker. A request with
    messages to show goes through the template engine.

    `shared_content`: the content is the same string for many requests (kept in memory, as the
    catalogue's): the compression keeps its compressed form too (lms.compression).
    """
    from django.contrib.messages import get_messages

    parts = {"title": title, "head": head, "content": content, "scripts": scripts}
    if get_messages(request):
        return render(request, PAGE_TEMPLATE, parts, status=status)
    user: Any = getattr(request, "user", None)
    # The signed-in person itself rather than the lazy wrapper around it: the chrome reads
    # several of its attributes, each a detour through the wrapper.
    user = getattr(user, "_wrapped", user) if user is not None and user.is_authenticated else user
    variant = _variant(user)
    key = (get_language(), *variant)
    shell = _shells.get(key)
    if shell is None:
        markers = {"title": TITLE, "head": HEAD, "content": CONTENT, "scripts": SCRIPTS}
        html = render_to_string(
            PAGE_TEMPLATE, {KEEP_MARKERS: True, **{k: mark_safe(v) for k, v in markers.items()}},
            request,
        )  # fmt: skip
        shell = _split(html)
        if len(_shells) >= MAX_VARIANTS:
            _shells.clear()
        _shells[key] = shell
    own = _fill_values(request, user, csrf_token(request), variant)
    filled = [_fill(piece, own) for piece in shell]
    values = [conditional_escape(value) for value in parts.values()]
    pieces = [text for pair in zip(filled, values, strict=False) for text in pair]
    pieces.append(filled[-1])
    response = HttpResponse("".join(pieces), status=status)
    if shared_content:
        at = 2 * list(parts).index("content") + 1  # the pieces alternate shell and part
        setattr(response, PARTS, ("".join(pieces[:at]), pieces[at], "".join(pieces[at + 1 :])))
    return response


def csrf_token(request: HttpRequest) -> str:
    """Django's masked CSRF token, masked once per request for all the forms of a page (each
    get_token call draws a new mask); a new one if the secret changed since (a sign-in).

    When the browser already holds its CSRF secret (every page after the first), the mask is
    drawn here from one os.urandom call: Django's get_token draws each of its 32 characters with
    secrets.choice, a system call per character (65 µs a mask on the 2-core test machine, 11 µs
    this way). Same alphabet, same uniform draw, same masking, so Django's middleware reads the token
    as its own; get_token still makes a new secret when there is none."""
    from django.middleware.csrf import get_token

    kept = getattr(request, "_lms_csrf", None)
    secret = request.META.get("CSRF_COOKIE")
    if kept is not None and secret is not None and kept[0] == secret:
        return str(kept[1])
    if secret is not None and len(secret) == CSRF_SECRET_LENGTH and set(secret) <= _INDEX.keys():
        # Unlike get_token, the cookie the browser holds is not sent again: Django's get_token
        # re-sets it on every page with a form, to renew its expiry (CSRF_COOKIE_AGE, a year),
        # a Set-Cookie that profiled at 4-8 % of the catalogue's time. A signed-in browser's
        # cookie is never that old: every sign-in sets a new one (rotate_token), and a session
        # lasts weeks (SESSION_COOKIE_AGE). One that does expire is replaced on the next page.
        token = mask_csrf_secret(secret)
    else:
        token = get_token(request)
    request._lms_csrf = (request.META.get("CSRF_COOKIE"), token)  # type: ignore[attr-defined]
    return token


_ALPHABET = CSRF_ALLOWED_CHARS
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
# Bytes at or above this are drawn again, so that byte % 62 is uniform (248 = 4 * 62).
_UNBIASED = 256 - 256 % len(_ALPHABET)


def _random_indexes(count: int) -> list[int]:
    """`count` uniform indexes into the alphabet from the operating system's CSPRNG."""
    found: list[int] = []
    while len(found) < count:
        found += [b % len(_ALPHABET) for b in os.urandom(count + 8) if b < _UNBIASED]
    return found[:count]


def mask_csrf_secret(secret: str) -> str:
    """A new masked token for a CSRF secret, as django.middleware.csrf._mask_cipher_secret makes
    it: a random mask, then each secret character shifted by the mask's character."""
    mask = _random_indexes(CSRF_SECRET_LENGTH)
    size = len(_ALPHABET)
    cipher = "".join(_ALPHABET[(_INDEX[c] + m) % size] for c, m in zip(secret, mask, strict=True))
    return "".join(_ALPHABET[m] for m in mask) + cipher


def _split(html: str) -> list[str]:
    """The rendered page cut at its four markers, in page order (five pieces)."""
    parts = []
    for marker in (TITLE, HEAD, CONTENT, SCRIPTS):
        head, sep, html = html.partition(marker)
        if not sep:
            raise ValueError(f"{PAGE_TEMPLATE} lost its {marker!r} part")
        parts.append(head)
    return [*parts, html]


@register.tag("chrome")
def do_chrome(parser: Parser, token: Token) -> ChromeNode:
    """`{% chrome "header" %}…{% endchrome %}`: see the module's docstring."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% chrome %} takes one name")
    nodelist = parser.parse(("endchrome",))
    parser.delete_first_token()
    return ChromeNode(bits[1].strip("\"'"), nodelist)


def clear() -> None:
    """Forget every rendered variant (tests that switch translations or URLconfs)."""
    _rendered.clear()
    _shells.clear()
