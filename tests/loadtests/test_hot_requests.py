"""The hot phase's lesson lists (loadtests.run.lesson_requests, revisit_requests): the lesson
phase never has two requests of one learner in flight at once, and the revisit phase asks
other learners."""

from __future__ import annotations

from typing import Any

from loadtests.run import REVISITED, lesson_requests, revisit_requests


def _pool(learners: int, lessons: int) -> list[dict[str, Any]]:
    return [
        {"cookie": f"sessionid=s{i}", "registration": f"reg-{i}",
         "lessons": list(range(100 * i, 100 * i + lessons)), "launch": None}
        for i in range(learners)
    ]  # fmt: skip


def _learner(path: str) -> str:
    return path.split("/")[3]


def test_the_lesson_phase_takes_turns_between_learners() -> None:
    lessons = lesson_requests(_pool(learners=40, lessons=6))
    assert len(lessons) == 240
    paths = [r.path for r in lessons]
    assert len(set(paths)) == 240
    # 16 connections in flight: any 16 consecutive requests are 16 different learners'
    for start in range(len(paths) - 16):
        assert len({_learner(p) for p in paths[start : start + 16]}) == 16
    # and each learner's lessons come in their reading order
    mine = [p for p in paths if _learner(p) == "reg-7"]
    assert mine == [f"/courses/learn/reg-7/{lesson}/" for lesson in range(700, 706)]


def test_uneven_lesson_lists_are_all_asked() -> None:
    pool = _pool(learners=3, lessons=2)
    pool[1]["lessons"] = [150]
    lessons = [r.path for r in lesson_requests(pool)]
    assert lessons == [
        "/courses/learn/reg-0/0/", "/courses/learn/reg-1/150/", "/courses/learn/reg-2/200/",
        "/courses/learn/reg-0/1/", "/courses/learn/reg-2/201/",
    ]  # fmt: skip


def test_the_revisits_are_the_last_learners_last_lessons() -> None:
    learners = REVISITED + 100
    revisits = [r.path for r in revisit_requests(_pool(learners=learners, lessons=6))]
    assert len(revisits) == REVISITED
    assert revisits[0] == f"/courses/learn/reg-100/{100 * 100 + 5}/"
    assert revisits[-1] == f"/courses/learn/reg-{learners - 1}/{100 * (learners - 1) + 5}/"


def test_the_position_phase_saves_each_video_learners_own_position() -> None:
    """One POST per learner whose version has a video, with their own session and its CSRF
    secret as X-CSRFToken; none for a learner without a video."""
    from loadtests.run import position_requests

    learners = [
        {"cookie": f"sessionid=s{i}; lms_pid={i}; csrftoken=secret{i}", "registration": f"reg-{i}",
         "video_lesson": 50 + i if i != 1 else None}
        for i in range(3)
    ]  # fmt: skip
    requests = position_requests(learners)
    assert [r.path for r in requests] == [
        "/courses/learn/reg-0/50/position/",
        "/courses/learn/reg-2/52/position/",
    ]
    assert all(r.method == "POST" for r in requests)
    assert requests[1].headers["X-CSRFToken"] == "secret2"
    assert requests[1].headers["Cookie"] == learners[2]["cookie"]
    assert requests[0].body.startswith("position=")
    assert "duration=900" in requests[0].body


def test_the_phases_ask_for_compressed_answers_as_browsers_do() -> None:
    """Browsers (and Locust's client) send Accept-Encoding; the hot phases too, so that the
    pages' compression is in what they measure; a request's own header is kept."""
    from loadtests.capacity import _encoding
    from loadtests.run import BROWSER_ENCODINGS, as_browser
    from loadtests.wrk import Request

    asked = as_browser(
        [Request("/courses/", headers={"Cookie": "sessionid=s1"}),
         Request("/minimal/", headers={"Accept-Encoding": "identity"})]
    )  # fmt: skip
    assert asked[0].headers == {"Accept-Encoding": BROWSER_ENCODINGS, "Cookie": "sessionid=s1"}
    assert asked[1].headers == {"Accept-Encoding": "identity"}
    assert "gzip" in BROWSER_ENCODINGS
    assert "gzip" in _encoding({"accept_encoding": BROWSER_ENCODINGS})
    assert "no compression" in _encoding({})


def test_the_mixed_load_is_measured_once_its_users_have_arrived() -> None:
    """The model's statistics restart when every user has spawned (its steady state); the exam
    window's keep its arrival, which is what it measures; the report says which."""
    from loadtests.capacity import _steady
    from loadtests.run import locust_command

    model = locust_command("model", "http://h", ["Learner", "Verifier"], 600, 60, steady=True)
    exam = locust_command("exam", "http://h", ["ExamBurstUser"], 150, 90, spawn_rate=5)
    assert "--reset-stats" in model
    assert model[-2:] == ["Learner", "Verifier"]
    assert model[model.index("-u") + 1] == "600"
    assert model[model.index("-r") + 1] == "120"
    assert "--reset-stats" not in exam
    assert exam[exam.index("-r") + 1] == "5"
    assert "arrive over the first 20 s" in _steady({"model_arrival_seconds": 20})
    assert "--reset-stats" in _steady({"model_arrival_seconds": 20})
    assert _steady({}) == ""


def test_a_mixed_phase_no_longer_than_the_arrival_is_refused(monkeypatch: Any, capsys: Any) -> None:
    """Its statistics would be empty (they start once every user has arrived): refused before
    anything starts, naming the option."""
    import sys

    import pytest

    from loadtests import run

    monkeypatch.setattr(sys, "argv", ["loadtests.run", "--seconds", str(run.ARRIVAL_SECONDS)])
    with pytest.raises(SystemExit) as refused:
        run.main()
    assert refused.value.code == 2
    assert "--seconds must be longer than the 20 s" in capsys.readouterr().err
