"""The one permissions module: who may do what, and over which scope.

Every view and API of every app asks here. A person's roles are read once per request into a
`Scope`; apps register named rules (``register_rule("courses.take_attendance", predicate)``)
from their ``AppConfig.ready()`` and check them with ``has_perm(user, name, obj)``,
``user.has_perm(name, obj)`` (through ``ScopedPermissionBackend``), the ``require_perm`` view
decorator or the ``ScopedPermission`` DRF class. A lower app never needs to import a higher one:
the higher app registers its rules here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from lms.accounts.models import Institution, Role, RoleAssignment

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from lms.accounts.models import User

    AnyUser = User | AnonymousUser
else:
    AnyUser = Any

Rule = Callable[[Any, Any], bool]
_rules: dict[str, Rule] = {}
_CACHE_ATTR = "_lms_scope"


@dataclass(frozen=True)
class Scope:
    """What a person may reach: their roles and the organisations each role covers."""

    user_id: int | None
    is_authenticated: bool = False
    is_dps: bool = False
    roles: frozenset[str] = frozenset()
    institution_id: int | None = None
    coordinated_institution_ids: frozenset[int] = frozenset()
    coordinated_paths: tuple[str, ...] = ()
    instructor_institution_ids: frozenset[int] = frozenset()
    university_ids: frozenset[int] = frozenset()
    donor_ids: frozenset[int] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def has_role(self, role: str) -> bool:
        return self.is_dps or role in self.roles

    @property
    def is_coordinator(self) -> bool:
        return Role.COORDINATOR in self.roles

    @property
    def is_instructor(self) -> bool:
        return Role.INSTRUCTOR in self.roles

    @property
    def is_validator(self) -> bool:
        return Role.VALIDATOR in self.roles

    @property
    def is_donor(self) -> bool:
        return Role.DONOR in self.roles

    def coordinates(self, institution: Institution | int | None) -> bool:
        """True when this person coordinates the institution or a unit above it (or is DPS)."""
        if self.is_dps:
            return True
        if institution is None or not self.coordinated_paths:
            return False
        if isinstance(institution, int):
            path = (
                Institution.objects.filter(pk=institution).values_list("path", flat=True).first()
                or ""
            )
        else:
            path = institution.path
        return any(path.startswith(prefix) for prefix in self.coordinated_paths)

    def institution_filter(self, lookup: str = "institution") -> Q:
        """A filter for rows whose `lookup` institution lies in the coordinated trees.

        DPS gets everything; anyone else with no coordinated institution gets nothing.
        """
        if self.is_dps:
            return Q()
        if not self.coordinated_paths:
            return Q(pk__in=[])
        condition = Q()
        for prefix in self.coordinated_paths:
            condition |= Q(**{f"{lookup}__path__startswith": prefix})
        return condition

    def validates_for(self, university_id: int | None) -> bool:
        return self.is_dps or (university_id is not None and university_id in self.university_ids)

    def represents_donor(self, donor_id: int | None) -> bool:
        return self.is_dps or (donor_id is not None and donor_id in self.donor_ids)


ANONYMOUS_SCOPE = Scope(user_id=None)


def get_scope(user: AnyUser | None) -> Scope:
    """The person's scope, read from the database once and kept on the user object."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS_SCOPE
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cast(Scope, cached)
    assignments = list(
        RoleAssignment.objects.filter(user_id=user.pk).values_list(
            "role", "institution_id", "institution__path", "university_id", "donor_id"
        )
    )
    roles = {row[0] for row in assignments} | {Role.LEARNER}
    is_dps = Role.DPS_ADMIN in roles or bool(getattr(user, "is_superuser", False))
    coordinated = [(row[1], row[2]) for row in assignments if row[0] == Role.COORDINATOR and row[1]]
    scope = Scope(
        user_id=user.pk,
        is_authenticated=True,
        is_dps=is_dps,
        roles=frozenset(roles),
        institution_id=getattr(user, "institution_id", None),
        coordinated_institution_ids=frozenset(pk for pk, _path in coordinated),
        coordinated_paths=tuple(path for _pk, path in coordinated if path),
        instructor_institution_ids=frozenset(
            row[1] for row in assignments if row[0] == Role.INSTRUCTOR and row[1]
        ),
        university_ids=frozenset(
            row[3] for row in assignments if row[0] == Role.VALIDATOR and row[3]
        ),
        donor_ids=frozenset(row[4] for row in assignments if row[0] == Role.DONOR and row[4]),
    )
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: AnyUser) -> None:
    """Drop the cached scope after the person's roles change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def register_rule(name: str, predicate: Rule) -> None:
    """Register the predicate `(user, obj) -> bool` that decides permission `name`."""
    _rules[name] = predicate


def registered_rules() -> list[str]:
    return sorted(_rules)


def has_perm(user: AnyUser | None, name: str, obj: Any = None) -> bool:
    """Whether the person may do `name` (to `obj`). Unknown names are refused, never allowed."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    rule = _rules.get(name)
    if rule is None:
        return False
    return bool(rule(user, obj))


class ScopedPermissionBackend:
    """Lets ``user.has_perm("app.rule", obj)`` use the registered rules."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: AnyUser, perm: str, obj: Any = None) -> bool:
        if perm in _rules:
            return has_perm(user_obj, perm, obj)
        # Django's model permissions ("app.change_model"): the admin is DPS staff's tool.
        return _is_dps_staff(user_obj)

    def has_module_perms(self, user_obj: AnyUser, app_label: str) -> bool:
        return _is_dps_staff(user_obj)


def _is_dps_staff(user: AnyUser) -> bool:
    """DPS administrators flagged as staff may use the whole Django admin."""
    return bool(
        user.is_authenticated
        and user.is_active
        and getattr(user, "is_staff", False)
        and get_scope(user).is_dps
    )


F = TypeVar("F", bound=Callable[..., HttpResponse])


def require_perm(name: str, get_obj: Callable[..., Any] | None = None) -> Callable[[F], F]:
    """View decorator: 403 unless the person has `name` on the object `get_obj(request, **kwargs)`.

    Anonymous people are sent to sign in first.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            obj = get_obj(request, *args, **kwargs) if get_obj else None
            if not has_perm(request.user, name, obj):
                raise PermissionDenied(name)
            if obj is not None:
                request.permission_object = obj  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return cast(F, wrapper)

    return decorator


def require_role(*roles: str) -> Callable[[F], F]:
    """View decorator: 403 unless the person holds one of `roles` (DPS holds all)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            scope = get_scope(request.user)
            if not any(scope.has_role(role) for role in roles):
                raise PermissionDenied(",".join(roles))
            return view(request, *args, **kwargs)

        return cast(F, wrapper)

    return decorator


class ScopedPermission(BasePermission):
    """DRF permission: the view names `required_perm` (and optionally `object_perm`)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        name = getattr(view, "required_perm", None)
        if not request.user or not request.user.is_authenticated:
            return False
        return name is None or has_perm(request.user, name)

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        name = getattr(view, "object_perm", None)
        return name is None or has_perm(request.user, name, obj)


# Rules of the accounts app itself.
def _is_dps(user: Any, obj: Any) -> bool:
    return get_scope(user).is_dps


def _coordinates_institution(user: Any, obj: Any) -> bool:
    scope = get_scope(user)
    if obj is None:
        return scope.is_dps or scope.is_coordinator
    return scope.coordinates(obj)


def _may_view_person(user: Any, obj: Any) -> bool:
    scope = get_scope(user)
    if obj is None:
        return False
    if obj.pk == user.pk or scope.is_dps:
        return True
    return obj.institution_id is not None and scope.coordinates(obj.unit_id or obj.institution_id)


register_rule("accounts.administer_platform", _is_dps)
register_rule("accounts.import_officers", _coordinates_institution)
register_rule("accounts.manage_institution", _coordinates_institution)
register_rule("accounts.view_person", _may_view_person)
