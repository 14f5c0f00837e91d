"""Admin of the certification app: DPS edits certificate templates; certificates are read-only
here (issue and revoke through the services, which audit)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from certification.models import BulkIssuance, Certificate, CertificateTemplate


@admin.register(CertificateTemplate)
class CertificateTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "layout", "second_language", "validity_years", "refresher_course")
    list_select_related = ("course", "program", "refresher_course")
    raw_id_fields = ("course", "program", "refresher_course")


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "holder_name", "kind", "issued_at", "expires_on", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("code",)
    show_full_result_count = False
    readonly_fields = [field.name for field in Certificate._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BulkIssuance)
class BulkIssuanceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("run", "state", "total", "issued", "already", "created_at")
    list_select_related = ("run",)
    raw_id_fields = ("run", "requested_by")
