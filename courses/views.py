"""Pages of the courses app; thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from courses.models import Course, Enrollment


def catalogue(request: HttpRequest) -> HttpResponse:
    courses = Course.objects.filter(is_published=True).order_by("code")
    page = Paginator(courses, 20).get_page(request.GET.get("page"))
    return render(request, "courses/catalogue.html", {"page_obj": page})


@login_required
def my_learning(request: HttpRequest) -> HttpResponse:
    enrollments = (
        Enrollment.objects.filter(user_id=request.user.pk or 0)
        .select_related("run__course")
        .order_by("-enrolled_at")
    )
    page = Paginator(enrollments, 20).get_page(request.GET.get("page"))
    return render(request, "courses/my_learning.html", {"page_obj": page})
