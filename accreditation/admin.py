"""Read-mostly admin for DPS staff: requests change state only through accreditation.services."""

from __future__ import annotations

from django.contrib import admin

from accreditation.models import AccreditationRequest, Comment, Condition, Transition


class TransitionInline(admin.TabularInline):
    model = Transition
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "at", "note")


class ConditionInline(admin.TabularInline):
    model = Condition
    extra = 0
    can_delete = False
    readonly_fields = ("text", "due_on", "fulfilled_at", "fulfilled_by")


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    can_delete = False
    readonly_fields = ("author", "body", "created_at")


@admin.register(AccreditationRequest)
class AccreditationRequestAdmin(admin.ModelAdmin):
    list_display = ("course_version", "university", "status", "reference", "valid_until")
    list_filter = ("status", "university")
    search_fields = ("reference", "course_version__course__code")
    list_select_related = ("course_version__course", "university")
    raw_id_fields = (
        "course_version",
        "owner_institution",
        "created_by",
        "decided_by",
        "rereview_of",
    )
    readonly_fields = ("status", "reference", "submission_count", "submitted_at", "decided_at")
    inlines = [ConditionInline, CommentInline, TransitionInline]

    def has_add_permission(self, request: object) -> bool:
        return False
