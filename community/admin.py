from django.contrib import admin

from community.models import (
    Ban,
    ChatMessage,
    Forum,
    InstitutionProfile,
    LibraryItem,
    ModerationAction,
    QualityCertification,
    Report,
    Theme,
    Thread,
)


@admin.register(Forum)
class ForumAdmin(admin.ModelAdmin):
    list_display = ["slug", "kind", "thread_count", "last_post_at"]
    list_filter = ["kind"]
    raw_id_fields = ["run", "institution"]
    search_fields = ["slug"]


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["title", "forum", "reply_count", "is_locked", "is_hidden"]
    raw_id_fields = ["forum", "author"]
    search_fields = ["title"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "status", "reason"]
    list_filter = ["status"]
    raw_id_fields = ["post", "chat_message", "reporter"]


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ["user", "forum", "until", "created_by"]
    raw_id_fields = ["user", "forum", "created_by"]


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "forum", "target_user"]
    list_filter = ["action"]
    raw_id_fields = ["actor", "forum", "target_user", "post", "thread", "chat_message"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # the audit trail is never edited


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "run", "author", "is_hidden"]
    raw_id_fields = ["run", "author"]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["slug"]


@admin.register(LibraryItem)
class LibraryItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "language", "status", "published_at"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["title"]
    raw_id_fields = ["author", "reviewed_by", "institution"]


class QualityCertificationInline(admin.TabularInline):
    model = QualityCertification
    extra = 0


@admin.register(InstitutionProfile)
class InstitutionProfileAdmin(admin.ModelAdmin):
    list_display = ["institution", "contact_name", "contact_email"]
    raw_id_fields = ["institution"]
