"""Pages of the certification app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def verify_form(request: HttpRequest) -> HttpResponse:
    return render(request, "certification/verify_form.html")
