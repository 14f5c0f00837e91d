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

from types import SimpleNamespace
from typing import Any

from django import template
from django.template.base import Node, NodeList, Parser, Token
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

NAME = "\ue000name\ue000"
NEXT = "\ue000next\ue000"
CSRF = "\ue000csrf\ue000"
UNREAD = "\ue000unread\ue000"
PATH = "\ue000path\ue000"
FLAGS = ("is_dps", "is_coordinator", "is_instructor", "is_validator")
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
        signed_in = bool(user is not None and user.is_authenticated)
        unread = 0
        flags: tuple[bool, ...] = ()
        if signed_in:
            scope = context.get("nav_scope")
            flags = tuple(bool(getattr(scope, flag, False)) for flag in FLAGS) + (
                bool(user.is_staff),
            )
            count = context.get("unread_notifications")
            unread = int(str(count)) if count else 0  # str(): it may be a SimpleLazyObject
        key = (self.name, get_language(), signed_in, flags, unread > 0)
        html = _rendered.get(key)
        if html is None:
            scope_stand_in = SimpleNamespace(
                **dict(zip(FLAGS, flags[:4] or (False,) * 4, strict=True))
            )
            with context.push(
                request=_Request(path=PATH),
                user=_User(is_authenticated=signed_in, is_staff=bool(flags and flags[-1])),
                nav_scope=scope_stand_in,
                unread_notifications=UNREAD if unread else 0,
                csrf_token=CSRF,
            ):
                html = self.nodelist.render(context)
            if len(_rendered) >= MAX_VARIANTS:
                _rendered.clear()
            _rendered[key] = html
        current = f'<li><a href="{escape(request.path)}">'
        html = (
            html.replace(current, current[:-1] + ' aria-current="page">', 1)
            .replace(CSRF, escape(token))
            .replace(NEXT, escape(request.get_full_path()))
        )
        if signed_in:
            html = html.replace(NAME, escape(user.get_short_name())).replace(UNREAD, str(unread))
        return mark_safe(html)  # noqa: S308 - escaped above, the rest is template output


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
