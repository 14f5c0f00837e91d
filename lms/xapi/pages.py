"""The small page where DPS staff and institution coordinators create and list LRS clients."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from lms.accounts.models import Institution
from lms.accounts.permissions import get_scope, has_perm
from lms.xapi.models import LRSClient
from lms.xapi.services import create_client


class ClientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.none()
    )
    scope = forms.ChoiceField(label=_("Reading scope"), choices=LRSClient.Scope.choices)

    def __init__(self, *args: Any, institutions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]


@login_required
def client_list(request: HttpRequest) -> HttpResponse:
    """The LRS clients of the institutions the person coordinates (all of them for DPS)."""
    scope = get_scope(request.user)
    if not (scope.is_dps or scope.is_coordinator):
        raise PermissionDenied
    if scope.is_dps:
        institutions = Institution.objects.all()
        clients = LRSClient.objects.all()
    else:
        # institution_filter("") gives path__startswith on the Institution itself.
        condition = Q()
        for prefix in scope.coordinated_paths:
            condition |= Q(path__startswith=prefix)
        institutions = (
            Institution.objects.filter(condition) if condition else Institution.objects.none()
        )
        clients = LRSClient.objects.filter(scope.institution_filter("institution"))
    created: tuple[LRSClient, str] | None = None
    form = ClientForm(request.POST or None, institutions=institutions.order_by("name"))
    if request.method == "POST" and form.is_valid():
        institution = form.cleaned_data["institution"]
        if not has_perm(request.user, "xapi.manage_clients", institution):
            raise PermissionDenied
        created = create_client(
            name=form.cleaned_data["name"],
            institution=institution,
            scope=form.cleaned_data["scope"],
            created_by=request.user,
        )
        form = ClientForm(institutions=institutions.order_by("name"))
    page = Paginator(clients.select_related("institution").order_by("name", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "xapi/clients.html",
        {"page_obj": page, "form": form, "created": created},
    )
