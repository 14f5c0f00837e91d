"""Admin of the LRS: clients (created with a secret shown once), forwarding and its failures."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms.accounts.permissions import get_scope
from lms.xapi.models import ForwardingFailure, ForwardingTarget, LRSClient
from lms.xapi.services import new_secret_hash


@admin.register(LRSClient)
class LRSClientAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "scope", "key", "is_active", "created_at"]
    list_filter = ["scope", "is_active"]
    search_fields = ["name", "key"]
    readonly_fields = ["key", "created_by", "created_at"]
    autocomplete_fields = ["institution"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LRSClient]:
        queryset = super().get_queryset(request).select_related("institution")
        return queryset.filter(get_scope(request.user).institution_filter("institution"))

    def save_model(self, request: HttpRequest, obj: LRSClient, form: Any, change: bool) -> None:
        if not change:
            from lms.xapi.models import new_key

            obj.key = new_key()
            obj.created_by = request.user  # type: ignore[assignment]
            secret, obj.secret_hash = new_secret_hash()
            messages.warning(
                request,
                _("Secret of %(name)s, shown only once: %(secret)s")
                % {"name": obj.name, "secret": secret},
            )
        super().save_model(request, obj, form, change)


@admin.register(ForwardingTarget)
class ForwardingTargetAdmin(admin.ModelAdmin):
    list_display = ["institution", "endpoint", "is_active"]
    autocomplete_fields = ["institution"]


@admin.register(ForwardingFailure)
class ForwardingFailureAdmin(admin.ModelAdmin):
    list_display = ["target", "created_at", "attempts", "resolved_at", "error"]
    list_filter = ["resolved_at"]
    readonly_fields = ["target", "statement_ids", "error", "attempts", "created_at", "resolved_at"]
    actions = ["retry"]

    @admin.action(description=_("Retry forwarding now"))
    def retry(self, request: HttpRequest, queryset: QuerySet[ForwardingFailure]) -> None:
        from lms.xapi.tasks import retry_failure

        done = sum(
            retry_failure(failure)
            for failure in queryset.filter(resolved_at__isnull=True).select_related("target")
        )
        self.message_user(
            request,
            ngettext("%(count)d batch forwarded.", "%(count)d batches forwarded.", done)
            % {"count": done},
        )
