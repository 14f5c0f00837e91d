"""Locust scenarios of the load model (loadtests/README.md). The pool of accounts, enrolments and
certificate codes comes from LOADTEST_POOL (a JSON file written by loadtests.run)."""

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

POOL: dict[str, Any] = json.loads(
    Path(os.environ.get("LOADTEST_POOL", "var/loadtest-pool.json")).read_text()
)
PASSWORD = POOL["password"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


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


class Learner(FastHttpUser):
    """An officer studying: catalogue, lessons, xAPI content reporting statements."""

    weight = 90
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.me = random.choice(POOL["learners"])
        sign_in(self, self.me["email"])
        self.auth: str | None = None

    @task(2)
    def catalogue(self) -> None:
        self.client.get("/courses/", name="catalogue")

    @task(6)
    def lesson(self) -> None:
        lesson = random.choice(self.me["lessons"])
        self.client.get(f"/courses/learn/{self.me['registration']}/{lesson}/", name="lesson")

    @task(1)
    def my_learning(self) -> None:
        self.client.get("/courses/my-learning/", name="my learning")

    @task(4)
    def statement(self) -> None:
        """Content launched with the standard parameters POSTs a statement to our LRS."""
        if self.auth is None and self.me.get("xapi_lesson"):
            with self.client.get(
                f"/courses/learn/{self.me['registration']}/{self.me['xapi_lesson']}/launch/",
                allow_redirects=False, name="xapi launch", catch_response=True,
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


class Instructor(FastHttpUser):
    """An instructor grading essays between sessions."""

    weight = 3
    wait_time = between(10, 30)

    def on_start(self) -> None:
        sign_in(self, random.choice(POOL["instructors"]))

    @task
    def grading_queue(self) -> None:
        self.client.get("/assessments/grading/", name="grading queue")

    @task
    def teaching(self) -> None:
        self.client.get("/courses/teaching/", name="teaching")


class Verifier(FastHttpUser):
    """An employer or university checking a certificate by its code (anonymous)."""

    weight = 5
    wait_time = between(5, 20)

    @task(3)
    def verify(self) -> None:
        self.client.get(f"/verify/{random.choice(POOL['codes'])}", name="verify page")

    @task(1)
    def verify_json(self) -> None:
        self.client.get(f"/verify/{random.choice(POOL['codes'])}.json", name="verify JSON")


class DpsAnalyst(FastHttpUser):
    """DPS staff watching the dashboard (the live part is its WebSocket, see loadtests.run)."""

    weight = 1
    wait_time = between(10, 30)

    def on_start(self) -> None:
        sign_in(self, POOL["dps"])

    @task
    def dashboard(self) -> None:
        self.client.get("/dashboards/", name="DPS dashboard")


class Ceiling(FastHttpUser):
    """The minimal Django JSON view, for the ceiling of this machine (run alone)."""

    weight = 1  # only ever run alone (loadtests.run names the classes of each phase)
    wait_time = between(0, 0)

    @task
    def minimal(self) -> None:
        self.client.get("/minimal/", name="minimal view")
