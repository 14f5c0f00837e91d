"""Authoring of question banks, rubrics and assessments in the admin."""

from __future__ import annotations

from django.contrib import admin

from assessments.models import (
    Assessment,
    AssessmentSection,
    Attempt,
    GradeChange,
    Question,
    QuestionCategory,
    Rubric,
    RubricCriterion,
    RubricLevel,
)


@admin.register(QuestionCategory)
class QuestionCategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "course")
    list_filter = ("course",)
    search_fields = ("slug",)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("pk", "__str__", "kind", "category", "points", "is_active")
    list_filter = ("kind", "is_active", "course")
    search_fields = ("tags",)
    raw_id_fields = ("course", "category", "rubric")


class RubricLevelInline(admin.TabularInline):
    model = RubricLevel
    extra = 0


@admin.register(RubricCriterion)
class RubricCriterionAdmin(admin.ModelAdmin):
    inlines = [RubricLevelInline]
    list_display = ("__str__", "rubric", "position")


class RubricCriterionInline(admin.TabularInline):
    model = RubricCriterion
    extra = 0
    show_change_link = True


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    inlines = [RubricCriterionInline]
    list_display = ("__str__", "course")


class SectionInline(admin.TabularInline):
    model = AssessmentSection
    extra = 0
    raw_id_fields = ("category",)


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    inlines = [SectionInline]
    list_display = ("__str__", "kind", "opens_at", "closes_at", "time_limit_minutes")
    list_filter = ("kind",)
    raw_id_fields = ("lesson",)


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("pk", "assessment", "user", "number", "status", "score_pct")
    list_filter = ("status",)
    raw_id_fields = ("assessment", "enrollment", "run", "user")
    readonly_fields = ("draw",)


@admin.register(GradeChange)
class GradeChangeAdmin(admin.ModelAdmin):
    list_display = ("attempt", "answer", "changed_by", "changed_at", "old_score", "new_score")
    raw_id_fields = ("attempt", "answer", "changed_by")
