"""Locust scenarios of the load model (loadtests/README.md). The pool of accounts, sessions,
launch credentials and certificate codes comes from LOADTEST_POOL (a JSON file written by
loadtests.run).

Most simulated people arrive with a session already signed in (as someone who signed in earlier
in the day does): hashing a password is deliberately slow, and a thousand users signing in at
the same second would measure PBKDF2, not the LMS. One learner in ten signs in through the form.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from locust import FastHttpUser, between, task

from loadtests.run import csrf_secret

POOL: dict[str, Any] = json.loads(
    Path(os.environ.get("LOADTEST_POOL", "var/loadtest-pool.json")).read_text()
)
PASSWORD = POOL["password"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SIGN_IN_SHARE = 0.1


def sign_in(user: FastHttpUser, email: str) -> None:
    page = user.client.get("/accounts/login/", name="sign-in form")
    token = CSRF.search(page.text or "")
    user.client.post(
        "/accounts/login/",
        data={
            "username": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1) if token else "",
        },
        headers={"Referer": user.host + "/accounts/login/"},
        name="sign-in",
    )


class Person(FastHttpUser):
    abstract = True
    headers: dict[str, str]

    def arrive(self, email: str, cookie: str, *, sign_in_share: float = 0.0) -> None:
        """Sign in through the form (a share of people), or carry the pool's session."""
        self.headers = {}
        if random.random() < sign_in_share:  # noqa: S311 - load shape, not security
            sign_in(self, email)
        else:
            self.headers = {"Cookie": cookie}

    def get(self, path: str, name: str) -> None:
        self.client.get(path, headers=self.headers, name=name)

    def csrf_token(self) -> str:
        """The CSRF secret the browser holds (the pool's cookie, or the one the sign-in form
        set): Django takes it as the X-CSRFToken of a script's POST."""
        cookies = self.headers.get("Cookie", "")
        if not cookies:
            jar = getattr(self.client, "cookiejar", None)
            found = [c.value for c in jar or [] if c.name == "csrftoken"]
            return found[0] if found else ""
        return csrf_secret(cookies) or ""


class Learner(Person):
    """An officer studying: catalogue, lessons, xAPI content reporting statements."""

    weight = 90
    wait_time = between(4, 13)

    def on_start(self) -> None:
        self.me = random.choice(POOL["learners"])  # noqa: S311
        self.arrive(self.me["email"], self.me["cookie"], sign_in_share=SIGN_IN_SHARE)
        self.auth: str | None = None

    @task(2)
    def catalogue(self) -> None:
        self.get("/courses/", "catalogue")

    @task(6)
    def lesson(self) -> None:
        lesson = random.choice(self.me["lessons"])  # noqa: S311
        self.get(f"/courses/learn/{self.me['registration']}/{lesson}/", "lesson")

    @task(1)
    def my_learning(self) -> None:
        self.get("/courses/my-learning/", "my learning")

    @task(3)
    def video_position(self) -> None:
        """The video player saves where the learner is (every 15 s while a video plays)."""
        lesson = self.me.get("video_lesson")
        token = self.csrf_token()
        if not lesson or not token:
            return
        self.position = getattr(self, "position", 0) + 15
        self.client.post(
            f"/courses/learn/{self.me['registration']}/{lesson}/position/",
            data={"position": str(self.position % 600), "duration": "900"},
            headers={**self.headers, "X-CSRFToken": token},
            name="video position",
        )

    @task(4)
    def statement(self) -> None:
        """Content launched with the standard parameters POSTs a statement to our LRS."""
        if self.auth is None and self.me.get("xapi_lesson"):
            with self.client.get(
                f"/courses/learn/{self.me['registration']}/{self.me['xapi_lesson']}/launch/",
                allow_redirects=False, name="xapi launch", catch_response=True,
                headers=self.headers,
            ) as response:  # fmt: skip
                location = response.headers.get("Location", "")
                params = parse_qs(urlparse(location).query)
                if "auth" in params:
                    self.auth = params["auth"][0]
                    self.actor = json.loads(params["actor"][0])
                    self.activity = params["activity_id"][0]
                    response.success()
                else:
                    response.failure("no launch parameters")
                    return
        if self.auth is None:
            return
        self.client.post(
            "/xapi/statements",
            json={
                "id": str(uuid.uuid4()),
                "actor": self.actor,
                "verb": {
                    "id": "http://adlnet.gov/expapi/verbs/experienced",
                    "display": {"en-US": "experienced"},
                },
                "object": {"objectType": "Activity", "id": self.activity},
                "context": {"registration": self.me["registration"]},
            },
            headers={"Authorization": self.auth, "X-Experience-API-Version": "1.0.3"},
            name="xapi statement POST",
        )


class Instructor(Person):
    """An instructor grading essays between sessions."""

    weight = 3
    wait_time = between(10, 30)

    def on_start(self) -> None:
        me = random.choice(POOL["instructors"])  # noqa: S311
        self.arrive(me["email"], me["cookie"])

    @task
    def grading_queue(self) -> None:
        self.get("/assessments/grading/", "grading queue")

    @task
    def teaching(self) -> None:
        self.get("/courses/teaching/", "teaching")

    @task(2)
    def grade(self) -> None:
        """Open a submitted essay (loadtests.grading) and grade it, as the grading page's form
        does. An essay another instructor graded first is graded again: the form then needs a
        reason, which every grade here gives."""
        essays = POOL.get("essays") or []
        token = self.csrf_token()
        if not essays or not token:
            return
        essay = random.choice(essays)  # noqa: S311
        path = f"/assessments/grading/attempts/{essay['attempt']}/"
        self.get(path, "grade page")
        with self.client.post(
            path,
            data={
                "answer": str(essay["answer"]),
                "score": str(random.randint(4, 10)),  # noqa: S311
                "comment": "Proportionate and well argued.",
                "reason": "Second reading of the essay.",
            },
            headers={**self.headers, "X-CSRFToken": token},
            allow_redirects=False,
            name="grade",
            catch_response=True,
        ) as response:
            # The page answers both a saved grade and a refused one by sending the grader back
            # to it (the message says which): anything else is a failure.
            if response.status_code != 302:
                response.failure(f"grade answered {response.status_code}")


class Verifier(FastHttpUser):
    """An employer or university checking a certificate by its code (anonymous, each from its
    own address, which the reverse proxy passes in X-Forwarded-For)."""

    weight = 5
    wait_time = between(5, 20)

    def on_start(self) -> None:
        n = random.getrandbits(24)
        self.headers = {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}

    @task(3)
    def verify(self) -> None:
        code = random.choice(POOL["codes"])  # noqa: S311
        self.client.get(f"/verify/{code}", headers=self.headers, name="verify page")

    @task(1)
    def verify_json(self) -> None:
        code = random.choice(POOL["codes"])  # noqa: S311
        self.client.get(f"/verify/{code}.json", headers=self.headers, name="verify JSON")


class DpsAnalyst(Person):
    """DPS staff watching the dashboard (the live part is its WebSocket, see loadtests.run)."""

    weight = 1
    wait_time = between(10, 30)

    def on_start(self) -> None:
        self.arrive(POOL["dps"], POOL["dps_cookie"])

    @task
    def dashboard(self) -> None:
        self.get("/dashboards/", "DPS dashboard")
