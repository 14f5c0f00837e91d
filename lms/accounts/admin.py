from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from lms.accounts.models import Donor, Institution, MemberState, RoleAssignment, University, User


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["institution", "university", "donor"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "institution", "status", "is_staff"]
    list_filter = ["status", "is_staff", "preferred_language"]
    search_fields = ["email", "full_name", "badge_number"]
    list_select_related = ["institution"]
    raw_id_fields = ["institution", "unit"]
    inlines = [RoleInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Person"),
            {
                "fields": (
                    "full_name",
                    "preferred_language",
                    "institution",
                    "unit",
                    "member_state",
                    "badge_number",
                    "status",
                )
            },
        ),
        (_("Permissions"), {"fields": ("is_staff", "is_superuser", "groups")}),
        (
            _("Dates"),
            {"fields": ("last_login", "date_joined", "invited_at", "activated_at", "locked_until")},
        ),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )


@admin.register(MemberState)
class MemberStateAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_es", "name_pt", "name_fr"]
    search_fields = ["code", "name_en", "name_es"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "member_state", "parent"]
    list_filter = ["kind", "member_state"]
    search_fields = ["name", "short_name"]
    raw_id_fields = ["parent"]


@admin.register(University)
class UniversityAdmin(admin.ModelAdmin):
    list_display = ["name", "member_state", "is_coordinating"]
    search_fields = ["name"]


@admin.register(Donor)
class DonorAdmin(admin.ModelAdmin):
    search_fields = ["name"]
