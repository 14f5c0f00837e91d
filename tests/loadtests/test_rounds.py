"""The hot phases in rounds (loadtests.run.combine_rounds, round_learners) and how the capacity
report shows them (loadtests.capacity.share_of, share_text): each share against the ceiling of
its own round, the median and the spread, each round's first views other learners' lessons."""

from __future__ import annotations

from typing import Any

from loadtests.capacity import share_of, share_text
from loadtests.run import REVISITED, combine_rounds, hot_requests, revisit_requests, round_learners


def _learners(n: int) -> list[dict[str, Any]]:
    return [
        {"cookie": f"sessionid=s{i}", "registration": f"reg-{i}",
         "lessons": [100 * i, 100 * i + 1], "launch": None}
        for i in range(n)
    ]  # fmt: skip


def _phase(name: str, rps: float, p95: float, errors: int = 0, web: float = 1.0) -> dict[str, Any]:
    return {
        "name": name, "rps": rps, "requests": int(rps * 10), "seconds": 10.0, "errors": errors,
        "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.2, "mean_ms": p95 / 2,
        "cpu_ms": {"web": web, "database": web / 10},
    }  # fmt: skip


def _round(ceiling: float, catalogue: float, lesson: float) -> dict[str, Any]:
    return {
        "ceiling": _phase("minimal view", ceiling, 8.0),
        "ceiling_signed_in": _phase("minimal view, signed in", ceiling * 0.6, 12.0),
        "hot": [_phase("catalogue", catalogue, 20.0), _phase("lesson", lesson, 90.0)],
    }


def test_each_round_opens_other_learners_lessons_than_the_revisits_and_other_rounds(
    monkeypatch: Any,
) -> None:
    learners = _learners(REVISITED + 30)
    rounds = [round_learners(learners, 3, k) for k in range(3)]
    regs = [{lr["registration"] for lr in r} for r in rounds]
    assert [len(r) for r in regs] == [10, 10, 10]
    assert not (regs[0] & regs[1])
    assert not (regs[0] & regs[2])
    assert not (regs[1] & regs[2])
    revisited = {r.path.split("/")[3] for r in revisit_requests(learners)}
    assert len(revisited) == REVISITED
    assert not revisited & (regs[0] | regs[1] | regs[2])
    # the lesson phase of a round asks only that round's learners' lessons (the sign-in
    # phase's list, which asks a running server for its forms, is not this test's)
    monkeypatch.setattr("loadtests.run.signin_requests", lambda pool: [])
    pool = {"learners": learners, "codes": ["X"], "dps_cookie": "sessionid=dps"}
    lessons = hot_requests(pool, rounds[1])["lesson"]
    assert {r.path.split("/")[3] for r in lessons} == regs[1]
    assert len(lessons) == 20


def test_rounds_combine_into_medians_and_shares_of_each_rounds_own_ceiling() -> None:
    combined = combine_rounds(
        [_round(2000, 900, 150), _round(2500, 1300, 200), _round(1600, 700, 100)]
    )
    assert combined["rounds"] == 3
    catalogue, lesson = combined["hot"]
    assert (catalogue["name"], lesson["name"]) == ("catalogue", "lesson")
    assert catalogue["rps"] == 900
    assert catalogue["rounds_rps"] == [900, 1300, 700]
    # each against its own round's ceiling: 900/2000, 1300/2500, 700/1600
    assert catalogue["shares"] == [0.45, 0.52, 0.4375]
    assert share_of(catalogue, combined["ceiling"]) == 0.45
    assert share_text(catalogue, combined["ceiling"]) == "45% (44%–52%)"
    assert combined["ceiling"]["rps"] == 2000
    assert share_text(combined["ceiling"], combined["ceiling"]) == "100%"
    assert combined["ceiling_signed_in"]["shares"] == [0.6, 0.6, 0.6]
    assert "ceiling_own_row" not in combined
    assert catalogue["requests"] == 9000 + 13000 + 7000
    assert catalogue["p95_ms"] == 20.0
    assert catalogue["cpu_ms"]["web"] == 1.0


def test_errors_add_up_and_a_phase_missing_from_a_round_is_combined_from_the_others() -> None:
    first, second = _round(2000, 900, 150), _round(2000, 1000, 150)
    first["hot"][0]["errors"] = 3
    second["hot"][0]["errors"] = 4
    second["hot"] = second["hot"][:1]  # no lesson phase in the second round
    catalogue, lesson = combine_rounds([first, second])["hot"]
    assert catalogue["errors"] == 7
    assert catalogue["rps"] == 950  # the median of two
    assert lesson["rounds_rps"] == [150]
    assert lesson["shares"] == [0.075]


def test_a_run_of_one_round_keeps_its_plain_share() -> None:
    ceiling = {"rps": 2000.0}
    assert share_of({"rps": 1000.0}, ceiling) == 0.5
    assert share_text({"rps": 840.0}, ceiling) == "42%"
