"""The benchmarks' harness: hand-written notes survive a new measurement, queries are counted
without the debug log, and the test clients share one handler as a server process does."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.accounts.models import User
from loadtests.bench.harness import counted_queries, new_client
from loadtests.management.commands.run_benchmarks import NOTES_MARKER, _kept_notes


def test_a_sections_hand_written_notes_survive_a_new_measurement(tmp_path: Path) -> None:
    section = tmp_path / "area.md"
    section.write_text(f"## Area\n\nold figures\n\n{NOTES_MARKER}\n\nWhy the figures moved.\n")
    assert _kept_notes(section) == f"\n{NOTES_MARKER}\n\nWhy the figures moved.\n"
    (tmp_path / "plain.md").write_text("## Plain\n\nfigures only\n")
    assert _kept_notes(tmp_path / "plain.md") == ""
    assert _kept_notes(tmp_path / "new.md") == ""


@pytest.mark.django_db
def test_queries_are_counted_without_being_logged() -> None:
    with counted_queries() as count:
        User.objects.count()
        list(User.objects.all()[:1])
    assert len(count) == 2


def test_benchmark_clients_share_one_handler() -> None:
    first, second = new_client(), new_client()
    assert first.handler is second.handler
    assert first.cookies is not second.cookies  # each its own session
