"""Locust scenario of a national exam window: officers sign in, start the same exam, answer with
autosaves while they think, and submit. Imported by the load model in loadtests/ (its weight is
set there); runnable alone:

    LMS_EXAM_ID=1 LMS_EXAM_EMAILS='exam{n}@bench.lms' LMS_EXAM_PASSWORD=… \
        locust -f loadtests/scenarios/exam_burst.py --headless -u 200 -r 20 -t 2m \
        --host http://127.0.0.1:8104

Each simulated officer takes the next number n for its sign-in address. The exam and the
officers must exist and be enrolled (the scale seeder, or `loadtests/bench/bench_assessments.py`
whose officers are exam0…examN@bench.lms, given a usable password).
"""

from __future__ import annotations

import itertools
import os
import random
import re
import threading
from urllib.parse import urlencode

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests.exam_forms import answer_fields, answers

_numbers = itertools.count()
_numbers_lock = threading.Lock()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _next_email() -> str:
    with _numbers_lock:
        number = next(_numbers)
    return os.environ.get("LMS_EXAM_EMAILS", "exam{n}@bench.lms").format(n=number)


class ExamBurstUser(FastHttpUser):
    """One officer in the exam window: start, autosave two or three times, submit, done."""

    wait_time = between(2, 8)  # thinking between autosaves
    exam_id = int(os.environ.get("LMS_EXAM_ID", "1"))

    def on_start(self) -> None:
        self.csrf = ""
        self.attempt_url = ""
        self.fields: list[tuple[str, str, str]] = []
        self.saves_left = random.randint(2, 3)  # noqa: S311 - load shape, not security
        page = self.client.get("/accounts/login/", name="sign in page")
        self.csrf = self._token(page.text or "")
        self.client.post(
            "/accounts/login/",
            data={
                "username": _next_email(),
                "password": os.environ.get("LMS_EXAM_PASSWORD", ""),
                "csrfmiddlewaretoken": self.csrf,
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
        )

    def _token(self, html: str) -> str:
        found = _CSRF.search(html)
        return found.group(1) if found else self.csrf

    def _answers(self) -> str:
        # encoded here: a multiple choice's several values are one field each (the client
        # would send the list as one text)
        return urlencode(answers(self.fields, self.csrf), doseq=True)

    @task
    def take_exam(self) -> None:
        headers = {"Referer": f"{self.host}/assessments/{self.exam_id}/"}
        if not self.attempt_url:
            overview = self.client.get(f"/assessments/{self.exam_id}/", name="exam overview")
            self.csrf = self._token(overview.text or "")
            with self.client.post(
                f"/assessments/{self.exam_id}/start/",
                data={"csrfmiddlewaretoken": self.csrf},
                headers=headers,
                name="start attempt",
                allow_redirects=False,
                catch_response=True,
            ) as started:
                location = started.headers.get("Location", "")
                if "/attempts/" not in location:
                    started.failure(f"no attempt started: {location or started.status_code}")
                    self.stop()
                    return
            self.attempt_url = location
            page = self.client.get(self.attempt_url, name="attempt page")
            self.csrf = self._token(page.text or "")
            self.fields = answer_fields(page.text or "")
            return
        if self.saves_left > 0:
            self.saves_left -= 1
            self.client.post(
                f"{self.attempt_url}save/",
                data=self._answers(),
                headers={**headers, **FORM, "Accept": "application/json"},
                name="autosave",
            )
            return
        self.client.post(
            f"{self.attempt_url}submit/",
            data=self._answers(),
            headers={**headers, **FORM},
            name="submit attempt",
        )
        self.stop()
